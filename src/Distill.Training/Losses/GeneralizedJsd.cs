using static TorchSharp.torch;

namespace Distill.Training.Losses;

internal static partial class KdLoss
{
    /// <summary>
    /// Generalized Jensen-Shannon divergence (GKD, Agarwal et al. 2024), defined exactly as TRL's <c>generalized_jsd_loss</c>:
    /// with teacher p and student q (both softmax(logits / T), float32) and the mixture m = beta * p + (1 - beta) * q,
    /// <code>
    /// 0 &lt; beta &lt; 1 : JSD_beta = beta * KL(p || m) + (1 - beta) * KL(q || m)
    /// beta = 0      : KL(p || q)   forward KL  (the limit of JSD_beta / beta       as beta -> 0)
    /// beta = 1      : KL(q || p)   reverse KL  (the limit of JSD_beta / (1 - beta) as beta -> 1)
    /// </code>
    /// JSD_beta itself tends to 0 at both ends, so the endpoints are the divergences JSD interpolates between, not its value there
    /// (as in TRL). beta = 0.5 is the symmetric JSD (swapping p and q gives the same value), bounded by ln 2.
    /// Summed over the vocabulary, averaged over unmasked positions, times T^2 (TRL applies no T^2; we do, for every KD loss).
    /// </summary>
    /// <param name="studentLogits">[B, T, V] or [N, V].</param>
    /// <param name="teacherLogits">Same shape as <paramref name="studentLogits"/>; detached inside.</param>
    /// <param name="labels">[B, T] or [N] int64 mask source.</param>
    /// <param name="beta">Interpolation weight in [0, 1].</param>
    /// <param name="temperature">T &gt; 0 applied to both; result times T^2.</param>
    /// <param name="ignoreIndex">-100 by default.</param>
    /// <returns>Scalar float32 tensor.</returns>
    public static Tensor GeneralizedJsd(Tensor studentLogits, Tensor teacherLogits, Tensor labels, double beta = 0.5,
        double temperature = 1.0, long ignoreIndex = IgnoreIndex) =>
        FullDistribution(studentLogits, teacherLogits, labels, Divergence.Jsd(beta), temperature, ignoreIndex);
}
