namespace Distill.Models.Tokenization;

/// <summary>
/// Everything that decides how a byte-level BPE tokenizer maps text to ids, independent of the library that runs it:
/// what tokenizer.json is read into, what the trainer produces, and what <see cref="TokenizerIdentity"/> hashes.
/// </summary>
public sealed record BpeTokenizerDefinition
{
    /// <summary>Token (in byte-level form) to id; added tokens may or may not be in here, as in Hugging Face files.</summary>
    public required IReadOnlyDictionary<string, int> Vocab { get; init; }

    /// <summary>Merges in priority order: earlier merges apply first.</summary>
    public required IReadOnlyList<(string Left, string Right)> Merges { get; init; }

    public IReadOnlyList<AddedToken> AddedTokens { get; init; } = [];

    /// <summary>Regexes applied in turn, each splitting every piece into matches and the gaps between them (HF "Isolated").</summary>
    public IReadOnlyList<string> SplitPatterns { get; init; } = [PreTokenizerPatterns.Gpt2];

    /// <summary>Unicode NFC before anything else (Qwen2 does this).</summary>
    public bool NormalizeNfc { get; init; }

    /// <summary>A pre-tokenized word that is itself in the vocabulary becomes that id without merging (Llama 3).</summary>
    public bool IgnoreMerges { get; init; }

    public string? UnknownToken { get; init; }

    /// <summary>Where the definition came from, for error messages: a file path or "trained".</summary>
    public string Source { get; init; } = "(in memory)";
}
