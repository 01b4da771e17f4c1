using Distill.Training.Config;
using Distill.Training.Data;
using Distill.Training.Losses;
using Distill.Training.Schedules;
using static TorchSharp.torch;

namespace Distill.Training.Objectives;

/// <summary>
/// <c>topk_kd</c>: sparse KD from the teacher's top-k logprobs stored in the dataset, mixed with CE, through the fused chunked
/// head loss (no teacher in memory). With <c>loss.sparse_fraction</c> &lt; 1 and a teacher, the run switches after that share of
/// its steps to online full-distribution KD (<see cref="KdStagePlan"/>), the same fused loss as <see cref="OnlineKdObjective"/>.
/// </summary>
public sealed class TopKKdObjective : TrainingObjective
{
    private readonly Divergence _divergence;
    private readonly KdStagePlan _plan;

    internal TopKKdObjective(LossConfig loss) : base(loss)
    {
        _divergence = ObjectiveDivergence.Parse(loss);
        _plan = new KdStagePlan(loss.SparseFraction, _divergence);
    }

    private protected override bool TeacherForKd => Loss.SparseFraction < 1;
    public override int StoredTopK => Loss.SparseFraction > 0 ? Loss.TopK : 0;
    public override bool HasKdTerm => true;
    private protected override bool TeacherAt(ObjectiveStep step) => _plan.StageAt(step.Step, step.TotalSteps) == KdStage.FullDistribution;

    private protected override ObjectiveLoss Score(ObjectiveModels models, Tensor studentHidden, Tensor? teacherHidden, DeviceBatch batch,
        ObjectiveStep step)
    {
        if (TeacherAt(step)) return OnlineKdObjective.Online(Loss, _divergence, models, studentHidden, teacherHidden!, batch, step);
        var terms = KdLoss.LinearSparseTopKWithCe(studentHidden, models.Student.OutputEmbedding, batch.TopKIds!, batch.TopKLogprobs!, batch.Labels,
            step.Alpha, step.Temperature);
        return new ObjectiveLoss(terms.Total, terms.Ce, terms.Kd, null, HeadOnLabelledOnly: true);
    }
}
