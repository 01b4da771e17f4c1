using System.Text.RegularExpressions;
using Distill.Core.Samples;
using Distill.World.Store;
using Distill.World.Tasks;

namespace Distill.World.Leakage;

/// <summary>What one scanned source holds of the held-out split.</summary>
public sealed record LeakageCount(string Source, int Texts, int HeldOutIds, int HeldOutQuestions, IReadOnlyList<string> Examples)
{
    public bool Leaks => HeldOutIds + HeldOutQuestions > 0;
}

/// <summary>
/// Finds held-out material in text meant for training: held-out order ids and tracking numbers (any mention), and held-out
/// questions verbatim. An honest held-out score needs both at zero in every dataset a model trained on and in the tokenizer's
/// corpus; `distill world check` runs this and exits 1 on any.
/// </summary>
public sealed partial class LeakageCheck
{
    private readonly HashSet<string> _heldOutIds = new(StringComparer.Ordinal);
    private readonly HashSet<string> _heldOutQuestions = new(StringComparer.Ordinal);

    /// <param name="heldOutQuestions">How many held-out tasks' questions to look for (the evaluation uses the first ones).</param>
    public LeakageCheck(StoreWorld world, int heldOutQuestions = 2000)
    {
        foreach (var order in world.OrdersIn(WorldSplits.HeldOut))
        {
            _heldOutIds.Add(order.Id);
            if (order.TrackingNumber is { } tracking) _heldOutIds.Add(tracking);
        }
        foreach (var task in new WorldTaskGenerator(world).Generate(WorldSplits.HeldOut, heldOutQuestions))
        {
            _heldOutQuestions.Add(Normalize(task.Question));
        }
    }

    public int HeldOutIdCount => _heldOutIds.Count;
    public int HeldOutQuestionCount => _heldOutQuestions.Count;

    /// <summary>Counts held-out ids and questions in <paramref name="texts"/>; a text counts once per kind of leak.</summary>
    public LeakageCount Scan(string source, IEnumerable<string> texts)
    {
        int scanned = 0, ids = 0, questions = 0;
        var examples = new List<string>();
        foreach (var text in texts)
        {
            scanned++;
            var id = Codes().Matches(text).Select(m => m.Value).FirstOrDefault(_heldOutIds.Contains);
            if (id is not null)
            {
                ids++;
                if (examples.Count < 3) examples.Add(id);
            }
            if (_heldOutQuestions.Contains(Normalize(text)))
            {
                questions++;
                if (examples.Count < 3) examples.Add(text);
            }
        }
        return new LeakageCount(source, scanned, ids, questions, examples);
    }

    /// <summary>Every text of a sample a model could train on: the seed input and each message's content, reasoning and tool arguments.</summary>
    public static IEnumerable<string> TextsOf(Sample sample)
    {
        if (sample.SeedInput is { } seed) yield return seed;
        foreach (var message in sample.Messages)
        {
            if (message.Content is { } content) yield return content;
            if (message.Reasoning is { } reasoning) yield return reasoning;
            foreach (var call in message.ToolCalls) yield return call.Arguments;
        }
        if (sample.Answer is { } answer) yield return answer;
    }

    private static string Normalize(string text) => text.Trim();

    // Ids as the world writes them: a letter and five digits, not inside a longer word or number.
    [GeneratedRegex(@"(?<![A-Za-z0-9])[AT]\d{5}(?![0-9])")]
    private static partial Regex Codes();
}
