using TorchSharp;
using static TorchSharp.torch;
using static Distill.Models.Native.Scalars;

namespace Distill.Training.Losses;

internal static partial class KdLoss
{
    /// <summary>Labels with this value are ignored by every loss (PyTorch / Hugging Face convention).</summary>
    public const long IgnoreIndex = -100;

    /// <summary>
    /// Token-level cross-entropy, mean over unmasked tokens. Sequence-level KD is this loss on the teacher's generated outputs.
    /// Logits are upcast to float32 inside. Returns 0 (attached to the graph) when every label is <paramref name="ignoreIndex"/>.
    /// </summary>
    /// <param name="logits">Student logits [B, T, V] or [N, V], any float dtype. Position t is scored against labels[t]: shift before calling.</param>
    /// <param name="labels">Target token ids [B, T] or [N], int64; <paramref name="ignoreIndex"/> marks positions to skip (prompt, padding).</param>
    /// <param name="ignoreIndex">Label value to skip; -100 by default.</param>
    /// <returns>Scalar float32 tensor: -(1/N_kept) * sum over kept positions of log softmax(logits)[label].</returns>
    public static Tensor CrossEntropy(Tensor logits, Tensor labels, long ignoreIndex = IgnoreIndex)
    {
        var (flat, flatLabels) = LossMath.Flatten(logits, labels);
        var keep = LossMath.KeepMask(flatLabels, ignoreIndex);
        var logq = LossMath.LogProbs(flat, 1.0);
        var target = flatLabels.masked_fill(keep.logical_not(), Zero).unsqueeze(-1);
        var nll = logq.gather(-1, target).squeeze(-1).neg();
        return LossMath.MaskedMean(nll, keep);
    }

    /// <summary>
    /// The Hinton mix of a distillation loss and the hard-label loss: <c>alpha * kd + (1 - alpha) * ce</c>.
    /// alpha = 1 is pure distillation, alpha = 0 pure supervised training.
    /// </summary>
    /// <param name="kd">Scalar distillation loss (already carrying its T^2 factor).</param>
    /// <param name="ce">Scalar cross-entropy on the hard labels.</param>
    /// <param name="alpha">Weight of <paramref name="kd"/>, in [0, 1]; schedule it with <see cref="Schedules.Schedule"/>.</param>
    public static Tensor Combine(Tensor kd, Tensor ce, double alpha)
    {
        CheckAlpha(alpha);
        using var kdWeight = alpha.ToScalar();
        using var ceWeight = (1 - alpha).ToScalar();
        return kd.mul(kdWeight).add(ce.mul(ceWeight), One);
    }
}
