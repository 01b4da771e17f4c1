using System.Globalization;
using Distill.World.Store;
using Distill.World.Tasks;
using static Distill.World.Tasks.WorldTiers;
using static Distill.World.Tests.TestWorld;

namespace Distill.World.Tests;

/// <summary>Dev and held-out questions: new to training, distinct, and labelled honestly as seen or unseen wordings.</summary>
public sealed class EvaluationQuestionTests
{
    private static WorldPhrasings.Wordings WordingsOf(WorldTask task) => task.Tier switch
    {
        Arithmetic => WorldPhrasings.Calculator,
        Status => WorldPhrasings.OrderStatus,
        Eta => WorldPhrasings.ShipmentEta,
        Refund => WorldPhrasings.Refund,
        _ => new(WorldPhrasings.Policy.SelectMany(p => p.Wordings.Seen).ToList(), WorldPhrasings.Policy.SelectMany(p => p.Wordings.DevUnseen).ToList(),
            WorldPhrasings.Policy.SelectMany(p => p.Wordings.HeldOutUnseen).ToList()),
    };

    private static IReadOnlyList<string> LabelledWordings(WorldTask task) =>
        task.Phrasing == WorldPhrasings.Unseen ? WordingsOf(task).UnseenIn(task.Split) : WordingsOf(task).Seen;

    /// <summary>The question without the greeting and sign-off the generator wraps it in.</summary>
    private static string Core(string question)
    {
        var opener = WorldPhrasings.Openers.Where(o => o.Length > 0 && question.StartsWith(o, StringComparison.Ordinal)).MaxBy(o => o.Length) ?? "";
        var closer = WorldPhrasings.Closers.Where(c => c.Length > 0 && question.EndsWith(c, StringComparison.Ordinal)).MaxBy(c => c.Length) ?? "";
        return question[opener.Length..^closer.Length];
    }

    /// <summary>Whether the question is one of <paramref name="wordings"/> with the task's own values filled in.</summary>
    private static bool UsesOneOf(WorldTask task, IReadOnlyList<string> wordings)
    {
        var arguments = task.ExpectedCalls[0].Arguments;
        var first = arguments.GetValueOrDefault("expression") ?? arguments.GetValueOrDefault("order_id") ?? "";
        var reasons = task.Tier == Refund
            ? WorldPhrasings.RefundReasons.Where(r => r.Reason == arguments["reason"]).Select(r => r.Phrase).SelectMany(p => new[] { p, char.ToUpperInvariant(p[0]) + p[1..] })
            : [""];
        var core = Core(task.Question);
        return wordings.Any(w => reasons.Any(r => string.Format(CultureInfo.InvariantCulture, w, first, r) == core));
    }

    [Theory]
    [InlineData(WorldSplits.Dev)]
    [InlineData(WorldSplits.HeldOut)]
    public void No_evaluation_question_appears_verbatim_among_train_questions(string split)
    {
        var train = Generate(WorldSplits.Train, 2000).Select(t => t.Question).ToHashSet(StringComparer.Ordinal);
        var evaluation = Generate(split, 1000);

        Assert.Equal(1000, evaluation.Count);
        Assert.Empty(evaluation.Where(t => train.Contains(t.Question)).Select(t => t.Question));
    }

    [Theory]
    [InlineData(WorldSplits.Dev)]
    [InlineData(WorldSplits.HeldOut)]
    public void Evaluation_tasks_are_distinct_questions(string split)
    {
        var questions = Generate(split, 1000).Select(t => t.Question).ToList();

        Assert.Equal(questions.Count, questions.Distinct(StringComparer.Ordinal).Count());
    }

    [Theory]
    [InlineData(WorldSplits.Dev)]
    [InlineData(WorldSplits.HeldOut)]
    public void A_third_of_evaluation_tasks_use_unseen_wordings_and_every_label_is_honest(string split)
    {
        var tasks = Generate(split, 500);

        foreach (var tier in new[] { Arithmetic, Status, Eta, Refund })
        {
            var ofTier = tasks.Where(t => t.Tier == tier).ToList();
            var unseen = ofTier.Count(t => t.Phrasing == WorldPhrasings.Unseen) / (double)ofTier.Count;
            Assert.True(Math.Abs(unseen - 1.0 / 3) < 0.05, $"{tier}: {unseen:P0} unseen");
        }
        Assert.All(tasks, t => Assert.True(UsesOneOf(t, LabelledWordings(t)), $"{t.Id} labelled {t.Phrasing}: {t.Question}"));
    }

    [Fact]
    public void Policy_questions_in_evaluation_are_all_unseen_wordings()
    {
        var policy = Generate(WorldSplits.HeldOut, 100, Policy);

        Assert.Equal(WorldPhrasings.Policy.Count, policy.Count); // one per unseen wording, then the tier is exhausted
        Assert.All(policy, t => Assert.Equal(WorldPhrasings.Unseen, t.Phrasing));
        Assert.All(policy, t => Assert.True(UsesOneOf(t, WordingsOf(t).HeldOutUnseen), t.Question));
    }

    [Fact]
    public void Dev_and_held_out_share_no_unseen_wording_so_tuning_on_dev_never_sees_held_out_wordings()
    {
        var all = new[] { WorldPhrasings.Calculator, WorldPhrasings.OrderStatus, WorldPhrasings.ShipmentEta, WorldPhrasings.Refund }
            .Concat(WorldPhrasings.Policy.Select(p => p.Wordings)).ToList();

        Assert.All(all, w => Assert.Empty(w.DevUnseen.Intersect(w.HeldOutUnseen)));
        Assert.All(all, w => Assert.Empty(w.Seen.Intersect(w.DevUnseen.Concat(w.HeldOutUnseen))));
        var devCores = Generate(WorldSplits.Dev, 300).Where(t => t.Phrasing == WorldPhrasings.Unseen).ToList();
        Assert.All(devCores, t => Assert.True(UsesOneOf(t, WordingsOf(t).DevUnseen), t.Question));
    }

    [Fact]
    public void Questions_come_bare_and_wrapped_in_greetings_and_sign_offs()
    {
        var questions = Generate(WorldSplits.Train, 400).Select(t => t.Question).ToList();

        Assert.Contains(questions, q => Core(q) == q);
        Assert.Contains(questions, q => Core(q).Length < q.Length && q.StartsWith("Hi", StringComparison.Ordinal));
        Assert.Contains(questions, q => q.EndsWith(" Thanks!", StringComparison.Ordinal));
    }

    [Fact]
    public void Train_tasks_use_seen_wordings_only()
    {
        var train = Generate(WorldSplits.Train, 1000);

        Assert.All(train, t => Assert.Equal(WorldPhrasings.Seen, t.Phrasing));
        Assert.All(train, t => Assert.True(UsesOneOf(t, WordingsOf(t).Seen), t.Question));
    }
}
