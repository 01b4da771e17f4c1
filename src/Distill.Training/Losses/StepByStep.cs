using TorchSharp;
using static TorchSharp.torch;
using static Distill.Models.Native.Scalars;

namespace Distill.Training.Losses;

internal static partial class KdLoss
{
    /// <summary>
    /// Distilling step-by-step (Hsieh et al. 2023) multi-task loss, in the paper's form
    /// <c>L = L_label + lambda * L_rationale</c>: the same student is trained to produce the answer and the teacher's rationale;
    /// both terms are <see cref="CrossEntropy"/> (mean over their own unmasked tokens), so lambda is the relative weight of the
    /// rationale task (the paper uses 1). Either term is 0 when its labels are all masked.
    /// <para>Unlike the paper, the two tasks carry no "[label]" / "[rationale]" input prefix: <see cref="Data.SampleEncoder"/>
    /// renders the same chat prompt once answered with the answer only and once with the rationale, so a served student sees
    /// the prompt exactly as in training and no task marker.</para>
    /// </summary>
    /// <param name="labelLogits">Student logits on the label-task inputs [B, T, V].</param>
    /// <param name="labelTargets">Answer targets [B, T] with -100 outside the answer.</param>
    /// <param name="rationaleLogits">Student logits on the rationale-task inputs [B', T', V].</param>
    /// <param name="rationaleTargets">Rationale targets [B', T'] with -100 outside the rationale.</param>
    /// <param name="lambda">Weight of the rationale term, &gt;= 0.</param>
    /// <param name="ignoreIndex">-100 by default.</param>
    /// <returns>Scalar float32 tensor.</returns>
    public static Tensor StepByStep(Tensor labelLogits, Tensor labelTargets, Tensor rationaleLogits, Tensor rationaleTargets,
        double lambda = 1.0, long ignoreIndex = IgnoreIndex)
    {
        if (!(lambda >= 0) || double.IsInfinity(lambda))
            throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "lambda must be a finite number >= 0");
        using var rationaleWeight = lambda.ToScalar();
        var label = CrossEntropy(labelLogits, labelTargets, ignoreIndex);
        return label.add(CrossEntropy(rationaleLogits, rationaleTargets, ignoreIndex).mul(rationaleWeight), One);
    }
}
