using Distill.Core.Samples;
using Distill.Models.Tokenization;

namespace Distill.Training.Data;

/// <summary>
/// Token ids for stored logprobs that only carry token text: the fallback for foreign APIs. The OpenAI logprobs format has no
/// token ids, so a dataset generated through another OpenAI-format server (or through Distill's own before it sent
/// <c>token_id</c>) stores each token as its decoded text. When the teacher shares the student's
/// tokenizer, that text is the decode of one id, and this index maps it back. A text that several ids decode to (partial UTF-8
/// bytes all decode to U+FFFD) is ambiguous and stays without an id: a generated token that cannot be placed makes the sample
/// unaligned (it then trains with CE only), an alternative that cannot be placed is dropped from the top-k.
/// </summary>
public sealed class TokenTextIndex
{
    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);

    public TokenTextIndex(ITextTokenizer tokenizer)
    {
        var ambiguous = new HashSet<string>(StringComparer.Ordinal);
        for (var id = 0; id < tokenizer.VocabSize; id++)
        {
            var text = tokenizer.Decode([id]);
            if (ambiguous.Contains(text)) continue;
            if (!_ids.TryAdd(text, id))
            {
                _ids.Remove(text);
                ambiguous.Add(text);
            }
        }
    }

    public int? IdOf(string text) => _ids.TryGetValue(text, out var id) ? id : null;

    /// <summary>True when every entry and alternative carries its token id (nothing to map back from text).</summary>
    public static bool HasAllIds(IReadOnlyList<TokenLogprob> logprobs) =>
        logprobs.All(l => l.TokenId is not null && l.Top.All(t => t.TokenId is not null));

    /// <summary><paramref name="logprobs"/> with every missing token id filled in where the text names exactly one id.</summary>
    public IReadOnlyList<TokenLogprob> WithIds(IReadOnlyList<TokenLogprob> logprobs)
    {
        if (HasAllIds(logprobs)) return logprobs;
        return logprobs.Select(l => l with
        {
            TokenId = l.TokenId ?? IdOf(l.Token),
            Top = l.Top.Select(t => t.TokenId is null ? t with { TokenId = IdOf(t.Token) } : t).ToList(),
        }).ToList();
    }
}
