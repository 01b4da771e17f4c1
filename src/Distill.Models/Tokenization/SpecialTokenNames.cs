namespace Distill.Models.Tokenization;

/// <summary>
/// Which added tokens play BOS, EOS and PAD. tokenizer.json does not say (Hugging Face keeps it in
/// tokenizer_config.json), so the loader takes it from there, from these names, or from well-known defaults.
/// </summary>
public sealed record SpecialTokenNames(string? Bos, string? Eos, string? Pad)
{
    /// <summary>Qwen2.5 / ChatML: no BOS, a turn ends at &lt;|im_end|&gt;, padding with &lt;|endoftext|&gt;.</summary>
    public static SpecialTokenNames ChatMl { get; } = new(null, ChatTokens.ImEnd, ChatTokens.EndOfText);
}
