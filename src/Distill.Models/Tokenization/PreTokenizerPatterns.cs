namespace Distill.Models.Tokenization;

/// <summary>
/// The word-splitting regexes of the common byte-level tokenizers. BPE never merges across the pieces they cut,
/// so the pattern is part of a tokenizer's identity as much as its merges are.
/// </summary>
public static class PreTokenizerPatterns
{
    /// <summary>What Hugging Face's ByteLevel pre-tokenizer uses when use_regex is true (GPT-2, SmolLM).</summary>
    public const string Gpt2 = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>Llama 3's Split pattern (Qwen2 uses the same with single digits): digits in groups of at most three.</summary>
    public const string Llama3 =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
}
