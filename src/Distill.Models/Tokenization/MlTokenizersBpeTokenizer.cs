using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Distill.Models.Tokenization;

/// <summary>
/// Byte-level BPE run by Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/> (its ByteLevel mode with a regex
/// pre-tokenizer and special tokens). <see cref="CanRun"/> says which definitions it reproduces exactly; the loader
/// uses <see cref="ByteLevelBpeTokenizer"/> for the rest.
/// </summary>
public sealed class MlTokenizersBpeTokenizer : ByteLevelTokenizerBase
{
    private readonly BpeTokenizer _tokenizer;

    public MlTokenizersBpeTokenizer(BpeTokenizerDefinition definition, SpecialTokenNames names)
        : base(definition, names)
    {
        if (!CanRun(definition, out var reason))
        {
            throw new ArgumentException($"Microsoft.ML.Tokenizers cannot run this tokenizer faithfully: {reason}", nameof(definition));
        }
        var specialTokens = definition.AddedTokens.ToDictionary(t => t.Content, t => t.Id, StringComparer.Ordinal);
        var vocabulary = new Dictionary<string, int>(definition.Vocab, StringComparer.Ordinal);
        foreach (var (content, id) in specialTokens)
        {
            vocabulary[content] = id;
        }
        var options = new BpeOptions(vocabulary)
        {
            Merges = definition.Merges.Select(m => $"{m.Left} {m.Right}").ToList(),
            SpecialTokens = specialTokens,
            PreTokenizer = new RegexPreTokenizer(
                new Regex(definition.SplitPatterns[0], RegexOptions.Compiled | RegexOptions.CultureInvariant), specialTokens),
            ByteLevel = true,
        };
        _tokenizer = BpeTokenizer.Create(options);
    }

    /// <summary>
    /// The library takes one regex, no normalizer, plain merges and space-free tokens (its merges are "a b" strings).
    /// </summary>
    public static bool CanRun(BpeTokenizerDefinition definition, out string reason)
    {
        reason = definition switch
        {
            { SplitPatterns.Count: not 1 } => "it needs exactly one pre-tokenizer regex",
            { NormalizeNfc: true } => "it normalizes to NFC",
            { IgnoreMerges: true } => "it uses ignore_merges",
            _ when definition.Merges.Any(m => m.Left.Contains(' ') || m.Right.Contains(' ')) => "its merges contain spaces",
            _ => "",
        };
        return reason.Length == 0;
    }

    public override int[] Encode(string text) => _tokenizer.EncodeToIds(text).ToArray();

    // Unknown ids are skipped, as the own engine does, rather than left to the library's own handling.
    public override string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false) =>
        _tokenizer.Decode(ids.Where(id => IdToToken(id) is not null), considerSpecialTokens: !skipSpecialTokens);
}
