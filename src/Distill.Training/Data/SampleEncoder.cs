using Distill.Core.Samples;
using Distill.Models.Chat;
using Distill.Models.Tokenization;

namespace Distill.Training.Data;

/// <summary>How one sample encoded: its examples and whether its stored logprobs found their tokens.</summary>
public sealed record EncodedSample(IReadOnlyList<TrainExample> Examples, bool HadLogprobs, bool LogprobsAligned, bool Truncated);

/// <summary>
/// Renders a sample with the student's chat template (system, tools, tool calls, tool results, reasoning), encodes it, keeps
/// labels on assistant tokens only, truncates to <see cref="MaxLength"/> predictions and, when asked, aligns the stored teacher
/// top-k logprobs to the student's positions.
/// </summary>
/// <param name="tokenizer">The student's tokenizer.</param>
/// <param name="maxLength">Longest input (T); the rendered conversation is cut to T + 1 tokens (its beginning is kept).</param>
/// <param name="topK">Stored alternatives kept per position (0: do not align logprobs).</param>
/// <param name="stepByStep">Also emit the rationale task for samples with both answer and rationale (distilling step-by-step).</param>
/// <param name="keepEnd">Truncate from the left (keep the end of the conversation, where the final answer and its stored logprobs
/// are) instead of from the right (keep the beginning: system prompt and tools).</param>
/// <param name="chat">The student's chat template options (tool format, default system prompt): what serving will render.</param>
public sealed class SampleEncoder(ITextTokenizer tokenizer, int maxLength, int topK = 0, bool stepByStep = false, bool keepEnd = false,
    ChatTemplateOptions? chat = null)
{
    private readonly ChatTemplate _template = new(chat);
    private readonly Lazy<TokenTextIndex> _tokenText = new(() => new TokenTextIndex(tokenizer));

    public int MaxLength { get; } = maxLength >= 1 ? maxLength : throw new ArgumentOutOfRangeException(nameof(maxLength));
    public int TopK { get; } = topK >= 0 ? topK : throw new ArgumentOutOfRangeException(nameof(topK));

    public EncodedSample Encode(Sample sample)
    {
        var chat = _template.Tokenize(tokenizer, sample.Messages, sample.Tools);
        var hadLogprobs = TopK > 0 && sample.TeacherLogprobs.Count > 0;
        // Logprobs that came through an OpenAI-format API carry token text only; the shared tokenizer gives the ids back.
        var logprobs = hadLogprobs ? _tokenText.Value.WithIds(sample.TeacherLogprobs) : sample.TeacherLogprobs;
        if (hadLogprobs) chat = TeacherTokenSplice.Apply(chat, logprobs, tokenizer);
        int[]? positions = hadLogprobs ? LogprobAligner.Align(chat.Ids, chat.AssistantMask, logprobs) : null;
        var truncated = chat.Ids.Length > MaxLength + 1;
        var examples = new List<TrainExample>
        {
            Build(sample.Id, chat, positions is null ? null : logprobs, positions, ExampleTask.Main),
        };
        if (stepByStep && HasRationale(sample))
        {
            // Distilling step-by-step: the same prompt, once answered with the answer only (the main example above is replaced
            // by it) and once with the teacher's rationale; the trainer weights the two label sets with lambda.
            var prompt = PromptOf(sample);
            var answer = _template.Tokenize(tokenizer, [.. prompt, ChatMessage.Assistant(sample.Answer)], sample.Tools);
            var rationale = _template.Tokenize(tokenizer, [.. prompt, ChatMessage.Assistant(sample.Rationale)], sample.Tools);
            examples[0] = Build(sample.Id, answer, null, null, ExampleTask.Main);
            examples.Add(Build(sample.Id + "#rationale", rationale, null, null, ExampleTask.Rationale));
        }
        return new EncodedSample(examples, hadLogprobs, positions is not null, truncated);
    }

    private static bool HasRationale(Sample s) => !string.IsNullOrWhiteSpace(s.Answer) && !string.IsNullOrWhiteSpace(s.Rationale);

    private static List<ChatMessage> PromptOf(Sample s)
    {
        var last = -1;
        for (var i = 0; i < s.Messages.Count; i++)
            if (s.Messages[i].Role == ChatRoles.User) last = i;
        return s.Messages.Take(last + 1).ToList();
    }

    private TrainExample Build(string id, TokenizedChat chat, IReadOnlyList<TokenLogprob>? logprobs, int[]? positions, ExampleTask task)
    {
        var n = Math.Min(chat.Ids.Length, MaxLength + 1);
        var start = keepEnd ? chat.Ids.Length - n : 0;
        var length = Math.Max(0, n - 1);
        var inputs = chat.Ids.AsSpan(start, length).ToArray();
        var labels = new int[length];
        for (var t = 0; t < length; t++)
            labels[t] = chat.AssistantMask[start + t + 1] ? chat.Ids[start + t + 1] : TokenizedChatLabels.Ignore;

        if (logprobs is null || positions is null || TopK == 0)
            return new TrainExample(id, inputs, labels, null, null, 0, task);

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
        }
        return new TrainExample(id, inputs, labels, ids, lps, TopK, task);
    }
}
