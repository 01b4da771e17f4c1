using Distill.Core.Samples;
using Distill.Models.Chat;
using Distill.Models.Tokenization;

namespace Distill.Training.Data;

/// <summary>How one sample encoded: its examples and how many of its assistant turns' stored logprobs found their tokens.</summary>
/// <param name="TurnsWithLogprobs">Assistant turns with stored logprobs (0 when the encoder does not align logprobs).</param>
/// <param name="TurnsAligned">Of those, the turns whose logprobs were placed on the student's positions (logit KD targets).</param>
/// <param name="TurnsIdsFromText">Turns with logprobs whose token ids were missing and were mapped back from token text.</param>
/// <param name="TurnsRescaled">Turns whose logprobs were rescaled to the KD temperature.</param>
public sealed record EncodedSample(IReadOnlyList<TrainExample> Examples, int TurnsWithLogprobs, int TurnsAligned, bool Truncated,
    int TurnsIdsFromText = 0, int TurnsRescaled = 0)
{
    public bool HadLogprobs => TurnsWithLogprobs > 0;

    /// <summary>At least one turn aligned, so the example carries top-k targets.</summary>
    public bool LogprobsAligned => TurnsAligned > 0;
}

/// <summary>
/// Renders a sample with the student's chat template (system, tools, tool calls, tool results, reasoning), encodes it, keeps
/// labels on assistant tokens only, truncates to <see cref="MaxLength"/> predictions and, when asked, aligns each assistant
/// turn's stored teacher top-k logprobs to that turn's positions. A turn without logprobs, or whose logprobs do not align,
/// and every token no logprob scores (the closing &lt;|im_end|&gt;) has no top-k row: the losses train it with CE alone.
/// </summary>
/// <param name="tokenizer">The student's tokenizer.</param>
/// <param name="maxLength">Longest input (T); the rendered conversation is cut to T + 1 tokens (its beginning is kept).</param>
/// <param name="topK">Stored alternatives kept per position (0: do not align logprobs).</param>
/// <param name="stepByStep">Also emit the rationale task for samples with both answer and rationale (distilling step-by-step).</param>
/// <param name="keepEnd">Truncate from the left (keep the end of the conversation, where the final answer is) instead of from
/// the right (keep the beginning: system prompt and tools).</param>
/// <param name="chat">The student's chat template options (tool format, default system prompt): what serving will render.</param>
/// <param name="logprobTemperature">The KD temperature the stored top-k logprobs are brought to (<see cref="StoredLogprobRescale"/>);
/// a turn whose logprobs cannot be is refused with a <see cref="Core.Errors.DistillException"/>.</param>
/// <param name="promptLabels">Also label the prompt tokens (<see cref="TrainExample.PromptLabels"/>), for <c>loss.prompt_weight</c>.</param>
public sealed class SampleEncoder(ITextTokenizer tokenizer, int maxLength, int topK = 0, bool stepByStep = false, bool keepEnd = false,
    ChatTemplateOptions? chat = null, double logprobTemperature = 1.0, bool promptLabels = false)
{
    private readonly ChatTemplate _template = new(chat);
    private readonly Lazy<TokenTextIndex> _tokenText = new(() => new TokenTextIndex(tokenizer));

    public int MaxLength { get; } = maxLength >= 1 ? maxLength : throw new ArgumentOutOfRangeException(nameof(maxLength));
    public int TopK { get; } = topK >= 0 ? topK : throw new ArgumentOutOfRangeException(nameof(topK));

    public EncodedSample Encode(Sample sample)
    {
        var chat = _template.Tokenize(tokenizer, sample.Messages, sample.Tools);
        var turns = TopK > 0 ? sample.Messages.Where(m => m.Role == ChatRoles.Assistant).ToList() : [];
        var turnsWithLogprobs = turns.Count(t => t.Logprobs.Count > 0);
        var placed = turnsWithLogprobs > 0 ? Place(ref chat, turns, sample.Id) : null;
        var truncated = chat.Ids.Length > MaxLength + 1;
        var examples = new List<TrainExample>
        {
            Build(sample.Id, chat, placed is { Turns: > 0 } ? placed : null, ExampleTask.Main),
        };
        if (stepByStep && HasRationale(sample))
        {
            // Distilling step-by-step: the same prompt, once answered with the answer only (the main example above is replaced
            // by it) and once with the teacher's rationale; the trainer weights the two label sets with lambda.
            var prompt = PromptOf(sample);
            var answer = _template.Tokenize(tokenizer, [.. prompt, ChatMessage.Assistant(sample.Answer)], sample.Tools);
            var rationale = _template.Tokenize(tokenizer, [.. prompt, ChatMessage.Assistant(sample.Rationale)], sample.Tools);
            examples[0] = Build(sample.Id, answer, null, ExampleTask.Main);
            examples.Add(Build(sample.Id + "#rationale", rationale, null, ExampleTask.Rationale));
        }
        return new EncodedSample(examples, turnsWithLogprobs, placed?.Turns ?? 0, truncated, placed?.IdsFromText ?? 0, placed?.Rescaled ?? 0);
    }

    /// <summary>
    /// The aligned logprob entries of all turns in order, the position each scores, the rescale factor of each entry's turn
    /// (<see cref="StoredLogprobRescale.Factor"/>), how many turns aligned, and of the turns with logprobs how many had their
    /// ids mapped back from text and how many are rescaled.
    /// </summary>
    private sealed record Placed(TokenLogprob[] Entries, int[] Positions, double[] Factors, int Turns, int IdsFromText, int Rescaled);

    /// <summary>
    /// Places each assistant turn's logprobs (<paramref name="turns"/>, the assistant messages in order) within that turn's span
    /// of <paramref name="chat"/>, splicing in the teacher's own tokens first (which may change <paramref name="chat"/>).
    /// <see cref="Placed.Turns"/> is 0 when no turn aligns.
    /// </summary>
    private Placed Place(ref TokenizedChat chat, IReadOnlyList<ChatMessage> turns, string sampleId)
    {
        var rescales = turns.Select(t => t.Logprobs.Count == 0 ? StoredLogprobRescale.AsStored : StoredLogprobRescale.For(t.LogprobProvenance, logprobTemperature)).ToList();
        if (rescales.FirstOrDefault(r => r.Refusal is not null) is { Refusal: not null } refused) throw refused.ToException(sampleId, logprobTemperature);
        // The teacher's own ids are used as stored (Distill's `serve` sends them). Logprobs that came through another
        // OpenAI-format server carry token text only; the shared tokenizer maps it back to ids where the text names one id.
        var idsFromText = turns.Count(t => t.Logprobs.Count > 0 && !TokenTextIndex.HasAllIds(t.Logprobs));
        var logprobs = turns.Select(t => TokenTextIndex.HasAllIds(t.Logprobs) ? t.Logprobs : _tokenText.Value.WithIds(t.Logprobs)).ToList();
        var rescaled = rescales.Count(r => !r.KeepsStoredValues);
        var spans = AssistantTurnSpans.Of(chat.AssistantMask);
        // The template renders one span per assistant message; anything else is not ours to guess.
        if (spans.Count != logprobs.Count) return new Placed([], [], [], 0, idsFromText, rescaled);
        // From the last turn back: a splice changes the length of its own span, which moves only the spans after it.
        for (var k = logprobs.Count - 1; k >= 0; k--)
            if (logprobs[k].Count > 0) chat = TeacherTokenSplice.Apply(chat, spans[k], logprobs[k], tokenizer);
        spans = AssistantTurnSpans.Of(chat.AssistantMask);
        var entries = new List<TokenLogprob>();
        var positions = new List<int>();
        var factors = new List<double>();
        var aligned = 0;
        for (var k = 0; k < logprobs.Count; k++)
        {
            if (logprobs[k].Count == 0 || LogprobAligner.Align(chat.Ids, spans[k], logprobs[k]) is not { } turnPositions) continue;
            aligned++;
            entries.AddRange(logprobs[k]);
            positions.AddRange(turnPositions);
            factors.AddRange(Enumerable.Repeat(rescales[k].Factor, turnPositions.Length));
        }
        return new Placed(entries.ToArray(), positions.ToArray(), factors.ToArray(), aligned, idsFromText, rescaled);
    }

    private static bool HasRationale(Sample s) => !string.IsNullOrWhiteSpace(s.Answer) && !string.IsNullOrWhiteSpace(s.Rationale);

    private static List<ChatMessage> PromptOf(Sample s)
    {
        var last = -1;
        for (var i = 0; i < s.Messages.Count; i++)
            if (s.Messages[i].Role == ChatRoles.User) last = i;
        return s.Messages.Take(last + 1).ToList();
    }

    private TrainExample Build(string id, TokenizedChat chat, Placed? placed, ExampleTask task)
    {
        var n = Math.Min(chat.Ids.Length, MaxLength + 1);
        var start = keepEnd ? chat.Ids.Length - n : 0;
        var length = Math.Max(0, n - 1);
        var inputs = chat.Ids.AsSpan(start, length).ToArray();
        var labels = new int[length];
        var prompt = promptLabels && task == ExampleTask.Main ? new int[length] : null; // the rationale task repeats the prompt
        for (var t = 0; t < length; t++)
        {
            var next = start + t + 1;
            var assistant = chat.AssistantMask[next];
            labels[t] = assistant ? chat.Ids[next] : TokenizedChatLabels.Ignore;
            if (prompt is not null) prompt[t] = assistant ? TokenizedChatLabels.Ignore : chat.Ids[next];
        }

        if (placed is null || TopK == 0)
            return new TrainExample(id, inputs, labels, null, null, 0, task, prompt);
        var (logprobs, positions) = (placed.Entries, placed.Positions);

        var ids = new int[length * TopK];
        var lps = new float[length * TopK];
        Array.Fill(ids, -1);
        for (var j = 0; j < positions.Length; j++)
        {
            var row = positions[j] - 1 - start; // the prediction made at position p - 1 is token p
            if (row < 0 || row >= length) continue;
            var entry = logprobs[j];
            var top = entry.Top.Count > 0 ? entry.Top : [new TopLogprob(entry.Token, entry.TokenId, entry.Logprob)];
            var k = 0;
            foreach (var alt in top)
            {
                if (k == TopK) break;
                if (alt.TokenId is not { } tid || tid < 0) continue;
                ids[row * TopK + k] = tid;
                lps[row * TopK + k] = (float)alt.Logprob;
                k++;
            }
            // Rescaled over the ids this run keeps (its top-k, those with ids): the distribution the loss compares against.
            if (placed.Factors[j] != 1.0) StoredLogprobRescale.Apply(lps.AsSpan(row * TopK, k), placed.Factors[j]);
        }
        return new TrainExample(id, inputs, labels, ids, lps, TopK, task, prompt);
    }
}
