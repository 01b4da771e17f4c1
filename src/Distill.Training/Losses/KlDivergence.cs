using static TorchSharp.torch;

namespace Distill.Training.Losses;

internal static partial class KdLoss
{
    /// <summary>
    /// Forward KL, the standard KD objective: T^2 * mean over unmasked positions of
    /// sum_v p_v (log p_v - log q_v), with p = softmax(teacher / T), q = softmax(student / T), both in float32.
    /// Unlike torchtune's ForwardKLLoss (which drops the teacher-entropy constant) this is the true KL: identical distributions give 0.
    /// Gradients reach the student only. 0 when every position is masked.
    /// </summary>
    /// <param name="studentLogits">[B, T, V] or [N, V].</param>
    /// <param name="teacherLogits">Same shape as <paramref name="studentLogits"/>.</param>
    /// <param name="labels">[B, T] or [N] int64, used as the mask (<paramref name="ignoreIndex"/> positions are skipped).</param>
    /// <param name="temperature">T &gt; 0, applied to both logits; the result is multiplied by T^2.</param>
    /// <param name="ignoreIndex">-100 by default.</param>
    /// <returns>Scalar float32 tensor.</returns>
    public static Tensor ForwardKl(Tensor studentLogits, Tensor teacherLogits, Tensor labels, double temperature = 1.0,
        long ignoreIndex = IgnoreIndex) =>
        FullDistribution(studentLogits, teacherLogits, labels, Divergence.ForwardKl, temperature, ignoreIndex);

    /// <summary>
    /// Reverse KL (mode-seeking, MiniLLM): T^2 * mean over unmasked positions of sum_v q_v (log q_v - log p_v).
    /// Same shapes, temperature, masking and detaching as <see cref="ForwardKl"/>.
    /// </summary>
    /// <param name="studentLogits">[B, T, V] or [N, V].</param>
    /// <param name="teacherLogits">Same shape as <paramref name="studentLogits"/>.</param>
    /// <param name="labels">[B, T] or [N] int64 mask source.</param>
    /// <param name="temperature">T &gt; 0; result times T^2.</param>
    /// <param name="ignoreIndex">-100 by default.</param>
    /// <returns>Scalar float32 tensor.</returns>
    public static Tensor ReverseKl(Tensor studentLogits, Tensor teacherLogits, Tensor labels, double temperature = 1.0,
        long ignoreIndex = IgnoreIndex) =>
        FullDistribution(studentLogits, teacherLogits, labels, Divergence.ReverseKl, temperature, ignoreIndex);
}
