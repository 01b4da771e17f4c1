using Distill.Models.Llama;

namespace Distill.Models.Generation;

/// <summary>
/// Batched autoregressive generation with a KV cache: the prompts decoded together as one request (one generator seeded with
/// <see cref="GenerationOptions.Seed"/>), on <see cref="ContinuousDecoder"/>. Prompts of different lengths are left-padded; each row
/// gets its own positions, so a padded row produces the same tokens as the row alone. When no row is padded (one prompt, or
/// prompts of one length) there is no mask and no position tensor at all: every step attends to every cached key, and a decode
/// step is bound by the number of TorchSharp calls (`distill bench model`).
/// </summary>
public static class LlamaGenerator
{
    /// <param name="prompts">token ids per row (non-empty).</param>
    /// <param name="onToken">called for each generated token (row index, token) as soon as it is chosen: streaming.</param>
    /// <param name="constraints">per row, null or a <see cref="ITokenConstraint"/> that masks the row's logits before sampling.</param>
    public static IReadOnlyList<GenerationResult> Generate(
        LlamaForCausalLM model,
        IReadOnlyList<IReadOnlyList<long>> prompts,
        GenerationOptions options,
        Action<int, GeneratedToken>? onToken = null,
        CancellationToken cancellationToken = default,
        IReadOnlyList<ITokenConstraint?>? constraints = null)
    {
        options.Validate();
        if (prompts.Count == 0) return [];
        var request = new DecodeGroup(prompts, options.MaxNewTokens, options.Seed, constraints, onToken);
        var waiting = true;
        ContinuousDecoder.Run(model, options, prompts.Count, _ =>
        {
            if (!waiting) return [];
            waiting = false;
            return [request];
        }, cancellationToken);
        return request.Results!;
    }
}
