using System.Text.RegularExpressions;

namespace Distill.Models.Tokenization;

/// <summary>
/// Splits text into the words BPE works on, applying each pattern in turn and keeping both the matches and the
/// text between them (Hugging Face's "Isolated" behaviour), so no character is ever lost.
/// </summary>
/// <remarks>
/// .NET matches \p{L} per UTF-16 unit, Rust per code point: letters outside the BMP (rare scripts, math letters)
/// group as "other" symbols here. Encodings stay lossless either way; only the split of such text can differ.
/// </remarks>
public sealed class WordSplitter
{
    private readonly Regex[] _patterns;

    public WordSplitter(IEnumerable<string> patterns) =>
        _patterns = patterns.Select(p => new Regex(p, RegexOptions.Compiled | RegexOptions.CultureInvariant)).ToArray();

    public List<string> Split(string text)
    {
        var pieces = new List<string> { text };
        foreach (var pattern in _patterns)
        {
            var next = new List<string>(pieces.Count * 4);
            foreach (var piece in pieces)
            {
                var position = 0;
                for (var match = pattern.Match(piece); match.Success; match = match.NextMatch())
                {
                    if (match.Length == 0)
                    {
                        continue;
                    }
                    if (match.Index > position)
                    {
                        next.Add(piece[position..match.Index]);
                    }
                    next.Add(match.Value);
                    position = match.Index + match.Length;
                }
                if (position < piece.Length)
                {
                    next.Add(piece[position..]);
                }
            }
            pieces = next;
        }
        return pieces;
    }
}
