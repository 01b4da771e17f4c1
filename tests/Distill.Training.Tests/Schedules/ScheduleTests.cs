using Distill.Core.Errors;
using Distill.Training.Losses;
using Distill.Training.Schedules;

namespace Distill.Training.Tests.Schedules;

public class ScheduleTests
{
    // A run of 11 steps (0..10): the default ramp covers steps 0..10, so step 5 is the middle.
    [Theory]
    [InlineData(ScheduleKind.Constant, 0, 1.0)]
    [InlineData(ScheduleKind.Constant, 5, 1.0)]
    [InlineData(ScheduleKind.Constant, 10, 1.0)]
    [InlineData(ScheduleKind.Linear, 0, 1.0)]
    [InlineData(ScheduleKind.Linear, 5, 0.6)]   // 1 + (0.2 - 1) * 0.5
    [InlineData(ScheduleKind.Linear, 10, 0.2)]
    [InlineData(ScheduleKind.Linear, 20, 0.2)]  // past the end: held
    [InlineData(ScheduleKind.Cosine, 0, 1.0)]
    [InlineData(ScheduleKind.Cosine, 5, 0.6)]   // (1 - cos(pi/2)) / 2 = 0.5
    [InlineData(ScheduleKind.Cosine, 10, 0.2)]
    public void Schedule_values_at_start_middle_and_end(ScheduleKind kind, long step, double expected)
    {
        Assert.Equal(expected, new Schedule(kind, 1.0, 0.2).Value(step, totalSteps: 11), 9);
    }

    [Fact]
    public void Cosine_quarter_point_follows_the_half_cosine()
    {
        // f = 0.25: (1 - cos(pi / 4)) / 2 = 0.14644661; T from 4 to 1: 4 - 3 * 0.14644661 = 3.56066017
        Assert.Equal(3.56066017, new Schedule(ScheduleKind.Cosine, 4, 1).Value(25, 101), 7);
    }

    [Fact]
    public void Hold_then_ramp_over_a_fixed_number_of_steps()
    {
        var s = new Schedule(ScheduleKind.Linear, 0, 1, HoldSteps: 10, RampSteps: 20);
        Assert.Equal(0, s.Value(10, 1000));
        Assert.Equal(0.5, s.Value(20, 1000), 9);
        Assert.Equal(1, s.Value(30, 1000));
        Assert.Equal(1, s.Value(999, 1000));
    }

    [Fact]
    public void Learning_rate_warms_up_linearly_then_decays_by_cosine_to_the_min_ratio()
    {
        var lr = new LearningRateSchedule(PeakLr: 1e-3, WarmupSteps: 10, TotalSteps: 110, MinRatio: 0.1);
        Assert.Equal(0, lr.At(0));
        Assert.Equal(5e-4, lr.At(5), 12);          // 5 / 10
        Assert.Equal(1e-3, lr.At(10), 12);         // peak
        Assert.Equal(5.5e-4, lr.At(60), 12);       // middle of the decay: 0.1 + 0.9 * 0.5
        Assert.Equal(1e-4, lr.At(110), 12);        // floor
        Assert.Equal(1e-4, lr.At(500), 12);        // held at the floor
    }

    [Fact]
    public void Stage_plan_uses_sparse_kd_for_the_first_fraction_then_full_kd()
    {
        var plan = new KdStagePlan(0.3, Divergence.Jsd(0.5));
        Assert.Equal(3, plan.SwitchStep(10));
        Assert.Equal(KdStage.SparseTopK, plan.StageAt(0, 10));
        Assert.Equal(KdStage.SparseTopK, plan.StageAt(2, 10));
        Assert.Equal(KdStage.FullDistribution, plan.StageAt(3, 10));
        Assert.Equal(KdStage.FullDistribution, plan.StageAt(9, 10));
        Assert.Equal(DivergenceKind.GeneralizedJsd, plan.FullDivergence.Kind);
        Assert.True(plan.NeedsOnlineTeacher(10));
        Assert.True(plan.NeedsStoredLogprobs(10));
    }

    [Fact]
    public void Sparse_only_and_full_only_plans_need_one_teacher_source()
    {
        Assert.All(Enumerable.Range(0, 7), s => Assert.Equal(KdStage.SparseTopK, KdStagePlan.SparseOnly.StageAt(s, 7)));
        Assert.False(KdStagePlan.SparseOnly.NeedsOnlineTeacher(7));
        Assert.All(Enumerable.Range(0, 7), s => Assert.Equal(KdStage.FullDistribution, KdStagePlan.FullOnly.StageAt(s, 7)));
        Assert.False(KdStagePlan.FullOnly.NeedsStoredLogprobs(7));
        Assert.Equal(DivergenceKind.ForwardKl, KdStagePlan.FullOnly.FullDivergence.Kind);
    }

    [Fact]
    public void Stage_plan_rejects_a_fraction_outside_zero_one()
    {
        Assert.Throws<DistillException>(() => new KdStagePlan(1.5).StageAt(0, 10));
    }
}
