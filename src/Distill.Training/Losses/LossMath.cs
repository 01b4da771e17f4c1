using TorchSharp;
using static TorchSharp.torch;
using static Distill.Models.Native.Scalars;

namespace Distill.Training.Losses;

/// <summary>
/// Shared pieces of the losses: shape checks, flattening, the ignore-index mask, the masked mean, and divergences on log-probabilities.
/// Everything here works on float32 tensors; the public losses upcast before calling in.
/// </summary>
internal static class LossMath
{
    /// <summary>
    /// Backward of a fused loss whose forward already computed dL/dhidden and dL/dW (saved in that order, each only when wanted):
    /// both are scaled by the incoming gradient; every other of the <paramref name="inputs"/> inputs gets no gradient.
    /// </summary>
    internal static List<Tensor> ScaledSavedGradients(autograd.AutogradContext ctx, Tensor gradOutput, int inputs)
    {
        var saved = ctx.get_saved_variables();
        var i = 0;
        var grads = new List<Tensor>(inputs)
        {
            (bool)ctx.get_data("wantH") ? saved[i++].mul(gradOutput) : null!,
            (bool)ctx.get_data("wantW") ? saved[i].mul(gradOutput) : null!,
        };
        while (grads.Count < inputs) grads.Add(null!);
        return grads;
    }

    /// <summary>Logits [B, T, V] or [N, V] to [N, V]; labels [B, T] or [N] to [N]. Throws when the leading sizes disagree.</summary>
    internal static (Tensor Logits, Tensor Labels) Flatten(Tensor logits, Tensor labels, string logitsName = "logits")
    {
        if (logits.dim() is not (2 or 3))
            throw new ArgumentException($"{logitsName} must be [B, T, V] or [N, V], got [{string.Join(", ", logits.shape)}]", logitsName);
        var v = logits.shape[^1];
        var flat = logits.reshape(-1, v);
        var flatLabels = labels.reshape(-1);
        if (flatLabels.shape[0] != flat.shape[0])
            throw new ArgumentException(
                $"labels [{string.Join(", ", labels.shape)}] do not match {logitsName} [{string.Join(", ", logits.shape)}]: one label per position", nameof(labels));
        return (flat, flatLabels);
    }

    internal static void CheckSameShape(Tensor a, Tensor b, string aName, string bName)
    {
        if (!a.shape.SequenceEqual(b.shape))
            throw new ArgumentException($"{aName} [{string.Join(", ", a.shape)}] and {bName} [{string.Join(", ", b.shape)}] must have the same shape", bName);
    }

    internal static void CheckTemperature(double temperature)
    {
        if (!(temperature > 0) || double.IsInfinity(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "temperature must be a positive finite number");
    }

    /// <summary>Float32 log-probabilities of <paramref name="logits"/> / <paramref name="temperature"/> along the last dimension.</summary>
    internal static Tensor LogProbs(Tensor logits, double temperature)
    {
        var f = logits.to_type(ScalarType.Float32);
        if (temperature != 1.0)
        {
            using var t = temperature.ToScalar();
            f = f.div(t);
        }
        return f.log_softmax(-1);
    }

    /// <summary>
    /// <see cref="LogProbs"/> for float32 logits nobody else needs (a teacher's, under no_grad), computed in their own buffer:
    /// one [N, V] tensor instead of three, which is what keeps chunked online KD's peak memory near SFT's.
    /// </summary>
    internal static Tensor LogProbsInPlace(Tensor logits, double temperature)
    {
        if (logits.dtype != ScalarType.Float32 || logits.requires_grad) return LogProbs(logits, temperature);
        if (temperature != 1.0)
        {
            using var t = temperature.ToScalar();
            logits.div_(t);
        }
        using var norm = logits.logsumexp(-1, keepdim: true);
        return logits.sub_(norm);
    }

    /// <summary>The ignore-index mask: true where <paramref name="labels"/> (any shape, int64) is not <paramref name="ignoreIndex"/>.</summary>
    internal static Tensor KeepMask(Tensor labels, long ignoreIndex)
    {
        using var ignore = ignoreIndex.ToScalar();
        return labels.ne(ignore);
    }

    /// <summary>Sum of <paramref name="perToken"/> [N] over kept positions; NaN or inf at dropped positions never reaches the result.</summary>
    internal static Tensor MaskedSum(Tensor perToken, Tensor keep) => perToken.masked_fill(keep.logical_not(), Zero).sum();

    /// <summary>Number of kept positions as a float32 scalar, at least 1 so that "nothing kept" divides 0 by 1.</summary>
    internal static Tensor KeptCount(Tensor keep) => keep.sum().clamp_min(One).to_type(ScalarType.Float32);

    /// <summary>
    /// Mean of <paramref name="perToken"/> [N] over kept positions. 0 when nothing is kept, still attached to the graph
    /// (backward runs and gives zero gradients).
    /// </summary>
    internal static Tensor MaskedMean(Tensor perToken, Tensor keep) => MaskedSum(perToken, keep).div(KeptCount(keep));

    /// <summary>
    /// KL(P || Q) = sum_v p_v (log p_v - log q_v) over the last dimension: [N, V] log-probs to [N].
    /// Vocabulary entries outside P's support (p_v = 0, e.g. a -inf logit) contribute 0, as in the convention 0 log 0 = 0;
    /// both operands are zeroed there first so no 0 * inf appears in the forward or the backward pass.
    /// </summary>
    internal static Tensor Kl(Tensor logP, Tensor logQ)
    {
        var p = logP.exp();
        var off = p.eq(Zero);
        var diff = logP.masked_fill(off, Zero).sub(logQ.masked_fill(off, Zero));
        return p.mul(diff).sum(-1);
    }

    /// <summary>
    /// log(w p + (1 - w) q) for 0 &lt; w &lt; 1, computed as a logsumexp of log-probs: [N, V].
    /// Log-probs are floored at a huge negative finite value first: where both are -inf (a vocabulary entry masked in both
    /// models) logsumexp's backward would compute exp(-inf - -inf) = NaN; with the floor the entry has mass ~0 and a finite,
    /// zero gradient.
    /// </summary>
    internal static Tensor LogMixture(Tensor logP, Tensor logQ, double w)
    {
        using var logW = Math.Log(w).ToScalar();
        using var logOneMinusW = Math.Log(1 - w).ToScalar();
        return stack([logP.clamp_min(LogFloor).add(logW, One), logQ.clamp_min(LogFloor).add(logOneMinusW, One)], 0).logsumexp(0, false);
    }

    /// <summary>A log-probability that is finite but whose exp is exactly 0 in float32.</summary>
    static readonly Scalar LogFloor = (float.MinValue / 4).ToScalar();
}
