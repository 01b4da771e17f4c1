using Distill.Training.Config;
using Distill.Training.Data;
using Distill.Training.Losses;
using static TorchSharp.torch;

namespace Distill.Training.Objectives;

/// <summary>
/// <c>sft</c>: cross-entropy on the dataset's assistant tokens (sequence-level KD when a teacher wrote them), through the fused
/// chunked head loss, so no [B, T, V] logits exist and unlabelled positions cost no head FLOPs.
/// </summary>
public sealed class SftObjective : TrainingObjective
{
    internal SftObjective(LossConfig loss) : base(loss)
    {
    }

    private protected override ObjectiveLoss Score(ObjectiveModels models, Tensor studentHidden, Tensor? teacherHidden, DeviceBatch batch,
        ObjectiveStep step)
    {
        var ce = KdLoss.LinearCrossEntropy(studentHidden, models.Student.OutputEmbedding, batch.Labels);
        return new ObjectiveLoss(ce, ce, null, null, HeadOnLabelledOnly: true);
    }
}
