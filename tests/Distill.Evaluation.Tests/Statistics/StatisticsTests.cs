using Distill.Evaluation.Statistics;

namespace Distill.Evaluation.Tests.Statistics;

public sealed class StatisticsTests
{
    [Theory]
    // Hand-computed with z = 1.96: center (p + z²/2n) / (1 + z²/n), half-width z / (1 + z²/n) * sqrt(p(1-p)/n + z²/4n²).
    [InlineData(8, 10, 0.4902, 0.9433)]
    [InlineData(0, 10, 0.0, 0.2775)]
    [InlineData(10, 10, 0.7225, 1.0)]
    [InlineData(50, 100, 0.4038, 0.5962)]
    [InlineData(1, 40, 0.0044, 0.1288)]
    public void Wilson_interval_matches_hand_computed_values(int successes, int trials, double low, double high)
    {
        var interval = Wilson.Interval(successes, trials);
        Assert.Equal(low, interval.Low, 3);
        Assert.Equal(high, interval.High, 3);
    }

    [Fact]
    public void Wilson_interval_of_no_trials_is_everything() => Assert.Equal(new Interval(0, 1), Wilson.Interval(0, 0));

    [Theory]
    // b = 10, c = 2: 2 * (1 + 12 + 66) / 4096 = 0.03857.
    [InlineData(10, 2, 0.038574)]
    [InlineData(2, 10, 0.038574)]
    // b = 5, c = 0: 2 / 32.
    [InlineData(5, 0, 0.0625)]
    [InlineData(3, 3, 1.0)]
    [InlineData(0, 0, 1.0)]
    // b = 1, c = 4: 2 * (1 + 5) / 32 = 0.375.
    [InlineData(1, 4, 0.375)]
    public void Exact_mcnemar_matches_the_binomial_on_discordant_pairs(int b, int c, double p) =>
        Assert.Equal(p, McNemar.ExactP(b, c), 5);

    [Fact]
    public void Mcnemar_counts_discordant_pairs_from_paired_vectors()
    {
        bool[] baseline = [true, true, false, false, true];
        bool[] candidate = [true, false, true, true, true];
        var r = McNemar.Test(baseline, candidate);
        Assert.Equal((1, 2, 2, 0), (r.OnlyBaseline, r.OnlyCandidate, r.Both, r.Neither));
        // 2 * (1 + 3) / 8 = 1 -> capped at 1.
        Assert.Equal(1.0, r.P, 12);
    }

    [Fact]
    public void Mcnemar_stays_finite_for_thousands_of_pairs() =>
        Assert.InRange(McNemar.ExactP(1200, 1000), 1e-6, 1e-3);

    [Fact]
    public void Mcnemar_refuses_vectors_of_different_tasks() =>
        Assert.Throws<ArgumentException>(() => McNemar.Test([true], [true, false]));

    [Theory]
    // n = 5, c = 2, k = 1: 1 - C(3,1)/C(5,1) = 1 - 3/5.
    [InlineData(5, 2, 1, 0.4)]
    // n = 5, c = 2, k = 2: 1 - C(3,2)/C(5,2) = 1 - 3/10.
    [InlineData(5, 2, 2, 0.7)]
    // n = 5, c = 2, k = 5: some success among all five.
    [InlineData(5, 2, 5, 1.0)]
    [InlineData(5, 0, 5, 0.0)]
    // n = 10, c = 1, k = 4: 1 - C(9,4)/C(10,4) = 1 - 126/210.
    [InlineData(10, 1, 4, 0.4)]
    public void Pass_at_k_matches_the_unbiased_estimator(int n, int c, int k, double expected) =>
        Assert.Equal(expected, PassAtK.Estimate(n, c, k), 12);

    [Fact]
    public void Pass_at_k_is_averaged_over_tasks() =>
        Assert.Equal((0.4 + 1.0) / 2, PassAtK.Mean([(5, 2), (5, 5)], 1), 12);

    [Theory]
    [InlineData(0.2, 0.5, 0.8, 0.5)]
    [InlineData(0.2, 0.8, 0.8, 1.0)]
    [InlineData(0.2, 0.1, 0.8, -1.0 / 6)]
    public void Gap_closure_is_the_share_of_the_baseline_to_teacher_gap(double baseline, double student, double teacher, double expected) =>
        Assert.Equal(expected, GapClosure.Of(baseline, student, teacher)!.Value, 12);

    [Theory]
    [InlineData(0.5, 0.6, 0.5)]
    [InlineData(0.5, 0.6, 0.4)]
    public void Gap_closure_is_undefined_when_the_teacher_is_no_better_than_the_baseline(double baseline, double student, double teacher) =>
        Assert.Null(GapClosure.Of(baseline, student, teacher));
}
