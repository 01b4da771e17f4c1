using Distill.Core.Samples;
using Distill.Models.Chat;
using Distill.Models.Tokenization;

namespace Distill.Training.Data;

/// <summary>
/// Puts the teacher's own tokens back into a rendered conversation. A model does not always generate the canonical BPE split of
/// its text ("A1003" as A·100·3 where re-encoding gives A10·03), so re-encoding a stored turn can give other ids than the ones
/// its logprobs score, and those logprobs would not align. When the stored tokens spell exactly the start of the turn's span
/// in the rendering, that span is replaced by the stored ids plus the re-encoded rest (the end-of-turn marker), so the student
/// is trained on the very sequence the teacher scored. Anything else leaves the rendering as it is.
/// </summary>
public static class TeacherTokenSplice
{
    /// <param name="chat">The rendered conversation.</param>
    /// <param name="span">The assistant turn the logprobs belong to; spans after it move when its length changes, those before do not.</param>
    /// <param name="logprobs">Stored per-token logprobs of that turn, all with ids.</param>
    /// <param name="tokenizer">The student's (and teacher's) tokenizer.</param>
    public static TokenizedChat Apply(TokenizedChat chat, TurnSpan span, IReadOnlyList<TokenLogprob> logprobs, ITextTokenizer tokenizer)
    {
        if (logprobs.Count == 0 || logprobs.Any(l => l.TokenId is null)) return chat;
        var (start, end) = (span.Start, span.End);
        var ids = chat.Ids[start..(end + 1)];
        var spanText = tokenizer.Decode(ids);
        var storedIds = logprobs.Select(l => l.TokenId!.Value).ToArray();
        // Ids from another vocabulary, or tokens that spell nothing, must not be spliced in: those logprobs stay unaligned.
        if (storedIds.Any(id => id < 0 || id >= tokenizer.VocabSize || tokenizer.Decode([id]).Length == 0)) return chat;
        var storedText = tokenizer.Decode(storedIds);
        if (!spanText.StartsWith(storedText, StringComparison.Ordinal)) return chat;
        var replaced = storedIds.Concat(tokenizer.Encode(spanText[storedText.Length..])).ToArray();
        if (replaced.AsSpan().SequenceEqual(ids) || tokenizer.Decode(replaced) != spanText) return chat;

        var newIds = chat.Ids[..start].Concat(replaced).Concat(chat.Ids[(end + 1)..]).ToArray();
        var mask = chat.AssistantMask[..start].Concat(Enumerable.Repeat(true, replaced.Length)).Concat(chat.AssistantMask[(end + 1)..]).ToArray();
        return new TokenizedChat(newIds, mask);
    }
}
