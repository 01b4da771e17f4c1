using static TorchSharp.torch;

namespace Distill.Training.Losses;

internal static partial class KdLoss
{
    /// <summary>
    /// Skew KL from DistiLLM (Ko et al. 2024): KL(p || alpha * p + (1 - alpha) * q), teacher p and student q = softmax(logits / T)
    /// in float32. alpha = 0 is forward KL; as alpha grows the target mixture leans towards p, which bounds the loss
    /// (by -log alpha) and smooths early gradients; DistiLLM uses alpha = 0.1. Summed over the vocabulary, averaged over
    /// unmasked positions, times T^2. Teacher detached.
    /// </summary>
    /// <param name="studentLogits">[B, T, V] or [N, V].</param>
    /// <param name="teacherLogits">Same shape as <paramref name="studentLogits"/>.</param>
    /// <param name="labels">[B, T] or [N] int64 mask source.</param>
    /// <param name="alpha">Skew in [0, 1).</param>
    /// <param name="temperature">T &gt; 0 applied to both; result times T^2.</param>
    /// <param name="ignoreIndex">-100 by default.</param>
    /// <returns>Scalar float32 tensor.</returns>
    public static Tensor SkewKl(Tensor studentLogits, Tensor teacherLogits, Tensor labels, double alpha = 0.1,
        double temperature = 1.0, long ignoreIndex = IgnoreIndex) =>
        FullDistribution(studentLogits, teacherLogits, labels, Divergence.Skew(alpha), temperature, ignoreIndex);

    /// <summary>
    /// Skew reverse KL from DistiLLM: KL(q || alpha * q + (1 - alpha) * p). alpha = 0 is reverse KL.
    /// Same shapes, temperature, masking and detaching as <see cref="SkewKl"/>.
    /// </summary>
    /// <param name="studentLogits">[B, T, V] or [N, V].</param>
    /// <param name="teacherLogits">Same shape as <paramref name="studentLogits"/>.</param>
    /// <param name="labels">[B, T] or [N] int64 mask source.</param>
    /// <param name="alpha">Skew in [0, 1).</param>
    /// <param name="temperature">T &gt; 0 applied to both; result times T^2.</param>
    /// <param name="ignoreIndex">-100 by default.</param>
    /// <returns>Scalar float32 tensor.</returns>
    public static Tensor SkewReverseKl(Tensor studentLogits, Tensor teacherLogits, Tensor labels, double alpha = 0.1,
        double temperature = 1.0, long ignoreIndex = IgnoreIndex) =>
        FullDistribution(studentLogits, teacherLogits, labels, Divergence.SkewReverse(alpha), temperature, ignoreIndex);
}
