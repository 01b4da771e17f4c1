using Distill.Evaluation.Curation;
using Distill.Evaluation.Statistics;

namespace Distill.Evaluation.Tests.Curation;

public class TemplateComparisonTests
{
    private static TemplateArm Arm(string name, int verified, int tasks, double cost) => new(name, "d/" + name, new TemplateVersionStats
    {
        TemplateId = "t",
        TemplateVersion = name,
        Datasets = [],
        Attempted = tasks,
        Accepted = tasks,
        RejectsByReason = new Dictionary<string, int>(),
        Verified = verified,
        VerifiedAll = verified,
        VerificationChecked = tasks,
        ExactDuplicateRate = 0,
        NearDuplicateRate = 0,
        Distinct1 = 0,
        Distinct2 = 0,
        SelfSimilarity = 0,
        AssistantWords = LengthSummary.Empty,
        ToolCalls = 0,
        ValidToolCalls = 0,
        Tokens = 0,
        CostUsd = cost,
    }, Enumerable.Range(0, tasks).Select(i => i < verified).ToList());

    [Fact]
    public void The_verdict_gives_the_change_in_verified_samples_per_dollar_and_the_paired_p_value()
    {
        // A: 5 verified of 10 for $1.00 = 5 per dollar; B: 7 of 10 for $1.25 = 5.6 per dollar: +12 %.
        // B solved every task A solved plus two: McNemar b = 0, c = 2, p = 2 * (1/2)^2 = 0.5.
        var c = TemplateComparison.Of(Arm("t@a", 5, 10, 1.0), Arm("t@b", 7, 10, 1.25));

        Assert.Equal("t@b: +12% verified samples per dollar vs t@a, p = 0.5 (McNemar on 10 tasks)", c.Verdict);
        Assert.Equal((0, 2), (c.Test.OnlyBaseline, c.Test.OnlyCandidate));
        var verified = c.Metrics.Single(m => m.Name.StartsWith("verified samples (", StringComparison.Ordinal));
        Assert.Equal(0.5, verified.A);
        Assert.Equal(Wilson.Interval(5, 10), verified.AInterval);
        var perDollar = c.Metrics.Single(m => m.Name == "verified samples per dollar");
        Assert.Equal(5.6, perDollar.B!.Value, 12);
        Assert.Equal(Wilson.Interval(7, 10).Low * 8, perDollar.BInterval!.Low, 12);
    }

    [Fact]
    public void Without_cost_the_verdict_compares_verified_samples()
    {
        var c = TemplateComparison.Of(Arm("t@a", 5, 10, 0), Arm("t@b", 3, 10, 0));
        Assert.Equal("t@b: -40% verified samples vs t@a, p = 0.5 (McNemar on 10 tasks)", c.Verdict);
        Assert.Equal("t@b: 3 vs 0 verified samples vs t@a, p = 0.25 (McNemar on 4 tasks)", TemplateComparison.VerdictLine(Arm("t@a", 0, 4, 0), Arm("t@b", 3, 4, 0), 0.25));
    }

    [Fact]
    public void Arms_of_different_task_lists_are_refused() =>
        Assert.Throws<ArgumentException>(() => TemplateComparison.Of(Arm("t@a", 1, 3, 0), Arm("t@b", 1, 4, 0)));

    [Fact]
    public void Cells_show_rates_in_percent_with_their_interval() =>
        Assert.Equal("50.0 % [23.7, 76.3]", TemplateComparisonReport.Cell(0.5, Wilson.Interval(5, 10), isRate: true));
}
