using Distill.Cli.Commands;
using Distill.Evaluation.Statistics;

namespace Distill.Cli.Tests;

public sealed class QualityBenchmarkTests
{
    private static QualityBenchmark.SeedResult Seed(int seed, double teacher, double baseline, double kd, double? gap, int onlyKd, int onlyBaseline, double p) =>
        new(seed, 100, teacher, baseline, kd, gap, new McNemarResult(100, onlyBaseline, onlyKd, 0, 0, p),
            new Dictionary<string, double> { ["T1"] = teacher, ["T0"] = 1.0 });

    [Fact]
    public void The_table_has_one_row_per_seed_and_the_mean_with_its_own_gap_closure()
    {
        var markdown = QualityBenchmark.Markdown([Seed(42, 0.9, 0.1, 0.5, 0.5, 40, 0, 1e-12), Seed(43, 0.7, 0.3, 0.3, 0.0, 1, 1, 1.0)]);

        Assert.Contains("| seed | tasks | teacher | teacher T0 | teacher T1 | baseline | KD | gap closure |", markdown, StringComparison.Ordinal);
        Assert.Contains("| 42 | 100 | 90.0% | 100.0% | 90.0% | 10.0% | 50.0% | 50% | KD alone 40, baseline alone 0, p = 0.0000 |", markdown.Replace(" %", "%", StringComparison.Ordinal), StringComparison.Ordinal);
        // The mean's gap closure is of the means: (0.4 - 0.2) / (0.8 - 0.2) = 33 %, not the mean of 50 % and 0 %.
        Assert.Contains("| mean | | 80.0% | 100.0% | 80.0% | 20.0% | 40.0% | 33% |", markdown.Replace(" %", "%", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void A_teacher_no_better_than_the_baseline_has_no_gap_to_close()
    {
        var markdown = QualityBenchmark.Markdown([Seed(42, 0.1, 0.1, 0.0, null, 0, 3, 0.25)]);
        Assert.Contains("no gap", markdown, StringComparison.Ordinal);
    }
}
