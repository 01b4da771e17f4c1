using System.Text.RegularExpressions;

namespace Distill.Models.Tokenization;

/// <summary>
/// Cuts text at literal occurrences of added tokens, as Hugging Face does before pre-tokenization, so that
/// "&lt;|im_end|&gt;" in a rendered chat becomes one id and never takes part in a merge.
/// </summary>
public sealed class AddedTokenSplitter
{
    private readonly Regex? _pattern;
    private readonly Dictionary<string, int> _ids;

    public AddedTokenSplitter(IEnumerable<AddedToken> addedTokens)
    {
        _ids = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var token in addedTokens.Where(t => t.Content.Length > 0))
        {
            _ids[token.Content] = token.Id;
        }
        // Longest first, so that a token which is a prefix of another never wins over it.
        var alternatives = _ids.Keys.OrderByDescending(k => k.Length).ThenBy(k => k, StringComparer.Ordinal).Select(Regex.Escape).ToList();
        _pattern = alternatives.Count == 0 ? null : new Regex(string.Join('|', alternatives), RegexOptions.CultureInvariant);
    }

    /// <summary>The pieces of <paramref name="text"/> in order: plain text (AddedTokenId null) or one added token.</summary>
    public IEnumerable<(string Text, int? AddedTokenId)> Split(string text)
    {
        if (_pattern is null)
        {
            if (text.Length > 0)
            {
                yield return (text, null);
            }
            yield break;
        }
        var position = 0;
        for (var match = _pattern.Match(text); match.Success; match = match.NextMatch())
        {
            if (match.Index > position)
            {
                yield return (text[position..match.Index], null);
            }
            yield return (match.Value, _ids[match.Value]);
            position = match.Index + match.Length;
        }
        if (position < text.Length)
        {
            yield return (text[position..], null);
        }
    }
}
