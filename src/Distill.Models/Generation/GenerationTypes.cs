using Distill.Core.Errors;
using Distill.Models.Checkpoints;

namespace Distill.Models.Generation;

/// <summary>How to pick tokens. Temperature 0 = greedy.</summary>
public sealed record GenerationOptions
{
    public const int MaxTopLogprobs = 20;

    public int MaxNewTokens { get; init; } = 128;
    /// <summary>0 = greedy (argmax); otherwise logits are divided by it before top-k / top-p sampling.</summary>
    public double Temperature { get; init; } = 1.0;
    /// <summary>0 = off; otherwise sample only among the k most likely tokens.</summary>
    public int TopK { get; init; }
    /// <summary>1 = off; otherwise sample from the smallest set of tokens whose probability reaches top_p (nucleus).</summary>
    public double TopP { get; init; } = 1.0;
    /// <summary>Seed of a dedicated torch.Generator: same seed, same prompts, same model = same tokens. Null = global RNG.</summary>
    public ulong? Seed { get; init; }
    /// <summary>Generation of a row ends when it produces one of these (for example the tokenizer's eos / end-of-turn ids).</summary>
    public IReadOnlyCollection<long> StopTokenIds { get; init; } = [];
    /// <summary>How many alternatives to report per generated token (0..20, as OpenAI's top_logprobs).</summary>
    public int TopLogprobs { get; init; }
    /// <summary>Fills left padding and finished rows; its value never affects real tokens (masked out).</summary>
    public long PadTokenId { get; init; }

    public bool Greedy => Temperature <= 0;

    /// <summary>
    /// Defaults from a model folder's generation_config.json (HF semantics: do_sample false = greedy), with its eos ids as stop ids
    /// and its pad id (else the first eos id) for padding. Callers override with `with { ... }`.
    /// </summary>
    public static GenerationOptions FromConfig(GenerationConfig? config)
    {
        if (config is null) return new GenerationOptions();
        var eos = config.EosTokenIds;
        return new GenerationOptions
        {
            MaxNewTokens = config.MaxNewTokens ?? 128,
            Temperature = config.DoSample == true ? config.Temperature ?? 1.0 : 0,
            TopK = config.DoSample == true ? config.TopK ?? 0 : 0,
            TopP = config.DoSample == true ? config.TopP ?? 1.0 : 1.0,
            StopTokenIds = eos,
            PadTokenId = config.PadTokenId ?? (eos.Count > 0 ? eos[0] : 0),
        };
    }

    public void Validate()
    {
        if (MaxNewTokens < 1) throw new DistillException($"max new tokens must be at least 1, got {MaxNewTokens}");
        if (Temperature < 0 || double.IsNaN(Temperature)) throw new DistillException($"temperature must be >= 0, got {Temperature}");
        if (TopK < 0) throw new DistillException($"top_k must be >= 0, got {TopK}");
        if (!(TopP > 0 && TopP <= 1)) throw new DistillException($"top_p must be in (0, 1], got {TopP}");
        if (TopLogprobs is < 0 or > MaxTopLogprobs)
            throw new DistillException($"top_logprobs must be between 0 and {MaxTopLogprobs}, got {TopLogprobs}");
    }
}

/// <summary>One alternative token at a position, with its log-probability under the model.</summary>
public sealed record TokenAlternative(long TokenId, float Logprob);

/// <summary>
/// A generated token. <see cref="Logprob"/> and <see cref="TopLogprobs"/> are log_softmax of the model's raw logits (before
/// temperature, top-k and top-p), i.e. the model's own distribution, which is what logit-level KD and OpenAI-style logprobs report.
/// <see cref="TopLogprobs"/> is sorted by decreasing logprob.
/// </summary>
public sealed record GeneratedToken(long TokenId, float Logprob, IReadOnlyList<TokenAlternative> TopLogprobs);

public enum FinishReason
{
    /// <summary>A stop token was produced.</summary>
    Stop,
    /// <summary>MaxNewTokens was reached.</summary>
    Length,
}

/// <summary>The continuation of one prompt.</summary>
/// <param name="Tokens">generated tokens, without the stop token.</param>
/// <param name="StopToken">the stop token that ended generation (with its logprob), when <see cref="FinishReason"/> is Stop.</param>
public sealed record GenerationResult(IReadOnlyList<GeneratedToken> Tokens, FinishReason FinishReason, GeneratedToken? StopToken)
{
    public IReadOnlyList<long> TokenIds => Tokens.Select(t => t.TokenId).ToList();
}
