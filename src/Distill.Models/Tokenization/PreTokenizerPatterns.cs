namespace Distill.Models.Tokenization;

/// <summary>
/// The word-splitting regexes of the common byte-level tokenizers. BPE never merges across the pieces they cut,
/// so the pattern is part of a tokenizer's identity as much as its merges are.
/// </summary>
public static class PreTokenizerPatterns
{
    /// <summary>What Hugging Face's ByteLevel pre-tokenizer uses when use_regex is true (GPT-2, SmolLM).</summary>
    public const string Gpt2 = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>Llama 3's Split pattern: digits in groups of at most three.</summary>
    public const string Llama3 =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>
    /// Qwen2's Split pattern (its tokenizer.json and transformers' PRETOKENIZE_REGEX): Llama 3's with every digit a piece
    /// of its own, so no token ever holds two digits and a model copies numbers digit by digit instead of memorising them.
    /// </summary>
    public const string Qwen2 =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
}
