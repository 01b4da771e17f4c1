using Distill.Core.Errors;
using Distill.Models.Llama;
using Distill.Models.Performance;
using TorchSharp;
using static TorchSharp.torch;
using static Distill.Models.Native.Scalars;

namespace Distill.Models.Generation;

/// <summary>
/// Batched autoregressive generation with a KV cache. Prompts of different lengths are left-padded; each row gets its own
/// positions (cumsum of the mask), so a padded row produces the same tokens as the row alone. When no row is padded (one prompt,
/// or prompts of one length) there is no mask and no position tensor at all: every step attends to every cached key, and a
/// decode step is bound by the number of TorchSharp calls (`distill bench model`).
/// </summary>
public static class LlamaGenerator
{
    // Decode steps of up to this many rows run on one intra-op thread (DecodeThreads); measured faster at batch 1, 8 and 32.
    private const int OneThreadMaxRows = 32;

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
        if (prompts.Any(p => p.Count == 0)) throw new DistillException("a prompt has no tokens", "every prompt needs at least one token (e.g. BOS)");
        var vocab = model.Config.VocabSize;
        if (prompts.SelectMany(p => p).Any(t => t < 0 || t >= vocab))
            throw new DistillException($"a prompt token id is outside the model's vocabulary (0..{vocab - 1})", "the tokenizer does not match the model");

        if (constraints is not null && constraints.Count != prompts.Count)
            throw new ArgumentException($"{constraints.Count} constraints for {prompts.Count} prompts", nameof(constraints));
        if (options.PadTokenId < 0 || options.PadTokenId >= vocab)
            throw new DistillException($"pad token id {options.PadTokenId} is outside the model's vocabulary (0..{vocab - 1})");
        var device = model.Device;
        int b = prompts.Count, p = prompts.Max(x => x.Count);
        var stop = options.StopTokenIds.ToHashSet();
        var topK = Math.Min(options.TopLogprobs, vocab);
        var tokens = Enumerable.Range(0, b).Select(_ => new List<GeneratedToken>()).ToArray();
        var finish = new FinishReason?[b];
        var stopTokens = new GeneratedToken?[b];

        // Inference mode, not just no_grad: libtorch then skips view tracking and version counters, about 7 % of a decode step
        // that is bound by the number of calls (`distill bench model`). No tensor created here leaves this method.
        using var inference = inference_mode();
        using var cache = new KvCache(model.Config.NumHiddenLayers, capacity: p + options.MaxNewTokens);
        using var generator = options.Seed is { } seed ? new Generator(seed, device) : null;

        // Carried across steps and disposed by hand, so per-step scopes keep memory flat however long the generation.
        // mask and lastPos stay null when no row is padded.
        var padded = prompts.Any(x => x.Count != p);
        Tensor logits;
        Tensor? mask = null, lastPos = null;
        using (var scope = NewDisposeScope())
        {
            var ids = new long[b * p];
            var m = new long[b * p];
            Array.Fill(ids, options.PadTokenId);
            for (var r = 0; r < b; r++)
            {
                var offset = r * p + (p - prompts[r].Count);
                for (var i = 0; i < prompts[r].Count; i++)
                {
                    ids[offset + i] = prompts[r][i];
                    m[offset + i] = 1;
                }
            }
            var idsT = tensor(ids, [b, p], device: device);
            Tensor? pos = null;
            if (padded)
            {
                mask = tensor(m, [b, p], device: device).DetachFromDisposeScope();
                pos = mask.cumsum(1).add(MinusOne, One).clamp_min(Zero);
                lastPos = pos.narrow(1, p - 1, 1).DetachFromDisposeScope();
            }
            var output = model.forward(new CausalLMInput(idsT, mask, pos, cache, LastTokenLogitsOnly: true));
            logits = output.Logits.squeeze(1).to_type(ScalarType.Float32).DetachFromDisposeScope();
        }

        try
        {
            for (var step = 0; step < options.MaxNewTokens; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var logprobs = logits.log_softmax(-1);
                var next = TokenSampler.Choose(constraints is null ? logits : Mask(logits, constraints, finish), options, generator);
                var chosen = logprobs.gather(1, next.unsqueeze(1)).squeeze(1).cpu().data<float>().ToArray();
                var nextIds = next.cpu().data<long>().ToArray();
                float[]? topVals = null;
                long[]? topIdx = null;
                if (topK > 0)
                {
                    var (values, indices) = logprobs.topk(topK, dim: -1, largest: true, sorted: true);
                    topVals = values.cpu().data<float>().ToArray();
                    topIdx = indices.cpu().data<long>().ToArray();
                }

                for (var r = 0; r < b; r++)
                {
                    if (finish[r] is not null) continue;
                    var alternatives = new List<TokenAlternative>(topK);
                    for (var k = 0; k < topK; k++)
                        alternatives.Add(new TokenAlternative(topIdx![r * topK + k], topVals![r * topK + k]));
                    var token = new GeneratedToken(nextIds[r], chosen[r], alternatives);
                    constraints?[r]?.Advance(token.TokenId);
                    if (stop.Contains(token.TokenId))
                    {
                        finish[r] = FinishReason.Stop;
                        stopTokens[r] = token;
                        continue;
                    }
                    tokens[r].Add(token);
                    onToken?.Invoke(r, token);
                    if (step == options.MaxNewTokens - 1) finish[r] = FinishReason.Length;
                }
                if (finish.All(f => f is not null)) break;

                // Finished rows keep stepping with a pad token (cheaper than reshaping the cache); their outputs are ignored.
                var feed = nextIds.Select((t, r) => finish[r] is null ? t : options.PadTokenId).ToArray();
                var feedT = tensor(feed, [b, 1], device: device);
                var newMask = mask is null ? null : cat([mask, ones(b, 1, dtype: ScalarType.Int64, device: device)], 1);
                var newPos = lastPos?.add(One, One);
                CausalLMOutput output;
                using (b <= OneThreadMaxRows ? DecodeThreads.OneThreadStep() : default)
                    output = model.forward(new CausalLMInput(feedT, newMask, newPos, cache, LastTokenLogitsOnly: true));
                var newLogits = output.Logits.squeeze(1).to_type(ScalarType.Float32);

                logits.Dispose();
                mask?.Dispose();
                lastPos?.Dispose();
                logits = newLogits.DetachFromDisposeScope();
                mask = newMask?.DetachFromDisposeScope();
                lastPos = newPos?.DetachFromDisposeScope();
            }
        }
        finally
        {
            logits.Dispose();
            mask?.Dispose();
            lastPos?.Dispose();
        }

        return Enumerable.Range(0, b)
            .Select(r => new GenerationResult(tokens[r], finish[r] ?? FinishReason.Length, stopTokens[r]))
            .ToList();
    }

    /// <summary>The logits with every token a live row's constraint disallows set to -inf (float32 [B, V]).</summary>
    static Tensor Mask(Tensor logits, IReadOnlyList<ITokenConstraint?> constraints, FinishReason?[] finish)
    {
        int b = (int)logits.shape[0], v = (int)logits.shape[1];
        if (!Enumerable.Range(0, b).Any(r => constraints[r] is not null && finish[r] is null)) return logits;
        var allowed = new bool[b * v];
        for (var r = 0; r < b; r++)
        {
            var row = allowed.AsSpan(r * v, v);
            if (constraints[r] is { } constraint && finish[r] is null) constraint.FillAllowed(row);
            else row.Fill(true);
        }
        using var mask = tensor(allowed, [b, v], device: logits.device);
        return logits.masked_fill(mask.logical_not(), NegativeInfinity);
    }
}
