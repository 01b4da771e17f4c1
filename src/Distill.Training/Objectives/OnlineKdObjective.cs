using Distill.Training.Config;
using Distill.Training.Data;
using Distill.Training.Losses;
using static TorchSharp.torch;

namespace Distill.Training.Objectives;

/// <summary>
/// <c>online_kd</c>: full-distribution KD from a local teacher run on every batch, <c>alpha * divergence + (1 - alpha) * CE</c>,
/// through the fused chunked hidden-state loss (<see cref="KdLoss.ChunkedWithCe"/>): both heads project only the labelled
/// positions, a chunk at a time, so neither model's [B, T, V] logits exist.
/// </summary>
public sealed class OnlineKdObjective : TrainingObjective
{
    private readonly Divergence _divergence;

    internal OnlineKdObjective(LossConfig loss) : base(loss) => _divergence = ObjectiveDivergence.Parse(loss);

    private protected override bool TeacherForKd => true;
    public override bool HasKdTerm => true;
    private protected override bool TeacherAt(ObjectiveStep step) => true;

    private protected override ObjectiveLoss Score(ObjectiveModels models, Tensor studentHidden, Tensor? teacherHidden, DeviceBatch batch,
        ObjectiveStep step) => Online(Loss, _divergence, models, studentHidden, teacherHidden!, batch, step);

    /// <summary>The fused online KD + CE loss, shared with the online stage of <see cref="TopKKdObjective"/>.</summary>
    internal static ObjectiveLoss Online(LossConfig loss, Divergence divergence, ObjectiveModels models, Tensor studentHidden, Tensor teacherHidden,
        DeviceBatch batch, ObjectiveStep step)
    {
        var teacher = models.Teacher!;
        var terms = KdLoss.ChunkedWithCe(studentHidden, models.Student.OutputEmbedding, teacherHidden, teacher.OutputEmbedding, batch.Labels,
            step.Alpha, loss.Chunks, divergence, step.Temperature, models.SharedVocab);
        return new ObjectiveLoss(terms.Total, terms.Ce, terms.Kd, null, HeadOnLabelledOnly: true);
    }
}
