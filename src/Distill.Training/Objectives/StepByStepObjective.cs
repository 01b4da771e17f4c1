using Distill.Training.Config;
using Distill.Training.Data;
using Distill.Training.Losses;
using static TorchSharp.torch;

namespace Distill.Training.Objectives;

/// <summary>
/// <c>cot</c>: distilling step-by-step (<see cref="KdLoss.StepByStep"/>), answer CE plus <c>loss.rationale_weight</c> times
/// rationale CE, on samples the encoder also renders as the rationale task. Scores the full [B, T, V] logits (both label sets
/// share them).
/// </summary>
public sealed class StepByStepObjective : TrainingObjective
{
    internal StepByStepObjective(LossConfig loss) : base(loss)
    {
    }

    public override bool RationaleTask => true;

    private protected override ObjectiveLoss Score(ObjectiveModels models, Tensor studentHidden, Tensor? teacherHidden, DeviceBatch batch,
        ObjectiveStep step)
    {
        var logits = nn.functional.linear(studentHidden, models.Student.OutputEmbedding);
        var ce = KdLoss.CrossEntropy(logits, batch.Labels);
        var total = KdLoss.StepByStep(logits, batch.Labels, logits, batch.RationaleLabels, Loss.RationaleWeight);
        return new ObjectiveLoss(total, ce, null, null, HeadOnLabelledOnly: false);
    }
}
