using System.Globalization;
using Distill.Evaluation.Statistics;

namespace Distill.Evaluation.Curation;

/// <summary>One arm of an A/B test of template versions: what it produced, and per planned task whether it gave a verified sample.</summary>
/// <param name="Name">How reports name it: <c>id@version</c>.</param>
/// <param name="Dataset">The arm's dataset folder.</param>
/// <param name="TaskVerified">Task i of the shared task list gave an accepted, verified sample (same order in both arms).</param>
public sealed record TemplateArm(string Name, string Dataset, TemplateVersionStats Stats, IReadOnlyList<bool> TaskVerified)
{
    public int Tasks => TaskVerified.Count;
    public int VerifiedTasks => TaskVerified.Count(v => v);
}

/// <summary>A metric of both arms; rates carry their Wilson 95 % interval, other numbers none.</summary>
public sealed record ArmMetric(string Name, double? A, Interval? AInterval, double? B, Interval? BInterval, bool IsRate);

/// <summary>
/// The A/B comparison of two template versions run on the same seed tasks with the same sampling seeds: the metrics table, an
/// exact McNemar test on which tasks each arm turned into a verified sample, and a one-line verdict.
/// </summary>
public sealed record TemplateComparison(TemplateArm A, TemplateArm B, IReadOnlyList<ArmMetric> Metrics, McNemarResult Test, string Verdict)
{
    /// <summary>Students trained one per arm (<c>--train</c>), A first, and their paired test; null without training.</summary>
    public IReadOnlyList<ModelEvaluation>? Students { get; init; }
    public McNemarResult? StudentTest { get; init; }

    public static TemplateComparison Of(TemplateArm a, TemplateArm b)
    {
        if (a.Tasks != b.Tasks) throw new ArgumentException($"arms ran different task lists ({a.Tasks} and {b.Tasks} tasks)", nameof(b));
        var test = McNemar.Test(a.TaskVerified, b.TaskVerified);
        var metrics = new List<ArmMetric>
        {
            Rate("accepted", a.Stats.Accepted, a.Stats.Attempted, b.Stats.Accepted, b.Stats.Attempted),
            Rate("verified samples (share of tasks)", a.VerifiedTasks, a.Tasks, b.VerifiedTasks, b.Tasks),
            Rate("verification pass rate", a.Stats.VerifiedAll, a.Stats.VerificationChecked, b.Stats.VerifiedAll, b.Stats.VerificationChecked),
            Rate("valid tool calls", a.Stats.ValidToolCalls, a.Stats.ToolCalls, b.Stats.ValidToolCalls, b.Stats.ToolCalls),
            Rate("exact + near duplicates", Duplicates(a.Stats), a.Stats.Attempted, Duplicates(b.Stats), b.Stats.Attempted),
            new("verified samples per dollar", PerDollar(a), PerDollarInterval(a), PerDollar(b), PerDollarInterval(b), IsRate: false),
            new("tokens per accepted sample", a.Stats.TokensPerAccepted, null, b.Stats.TokensPerAccepted, null, IsRate: false),
            new("cost per accepted sample (USD)", a.Stats.CostPerAccepted, null, b.Stats.CostPerAccepted, null, IsRate: false),
            new("distinct-2", a.Stats.Distinct2, null, b.Stats.Distinct2, null, IsRate: false),
            new("self-similarity", a.Stats.SelfSimilarity, null, b.Stats.SelfSimilarity, null, IsRate: false),
            new("assistant words (median)", a.Stats.AssistantWords.P50, null, b.Stats.AssistantWords.P50, null, IsRate: false),
        };
        return new TemplateComparison(a, b, metrics, test, VerdictLine(a, b, test.P));
    }

    /// <summary>
    /// "B: +12% verified samples per dollar, p = 0.01": the relative change of B over A in verified samples per dollar when both
    /// arms cost something, else in verified samples; p is the McNemar test on which tasks gave a verified sample.
    /// </summary>
    public static string VerdictLine(TemplateArm a, TemplateArm b, double p)
    {
        var (metric, va, vb) = PerDollar(a) is { } da && PerDollar(b) is { } db
            ? ("verified samples per dollar", da, db)
            : ("verified samples", (double)a.VerifiedTasks, (double)b.VerifiedTasks);
        var change = va > 0
            ? (vb / va - 1).ToString("+0%;-0%;+0%", CultureInfo.InvariantCulture)
            : string.Create(CultureInfo.InvariantCulture, $"{vb:0.##} vs {va:0.##}");
        var pText = p < 0.001 ? "p < 0.001" : "p = " + p.ToString("0.###", CultureInfo.InvariantCulture);
        return $"{b.Name}: {change} {metric} vs {a.Name}, {pText} (McNemar on {a.Tasks} tasks)";
    }

    private static ArmMetric Rate(string name, int aHits, int aTrials, int bHits, int bTrials) =>
        new(name, aTrials == 0 ? null : (double)aHits / aTrials, aTrials == 0 ? null : Wilson.Interval(aHits, aTrials),
            bTrials == 0 ? null : (double)bHits / bTrials, bTrials == 0 ? null : Wilson.Interval(bHits, bTrials), IsRate: true);

    private static int Duplicates(TemplateVersionStats s) => (int)Math.Round((s.ExactDuplicateRate + s.NearDuplicateRate) * s.Attempted);

    private static double? PerDollar(TemplateArm arm) => arm.Stats.CostUsd > 0 ? arm.VerifiedTasks / arm.Stats.CostUsd : null;

    /// <summary>The Wilson interval of the verified share scaled by tasks per dollar (the spend taken as fixed).</summary>
    private static Interval? PerDollarInterval(TemplateArm arm)
    {
        if (arm.Stats.CostUsd <= 0 || arm.Tasks == 0) return null;
        var share = Wilson.Interval(arm.VerifiedTasks, arm.Tasks);
        var scale = arm.Tasks / arm.Stats.CostUsd;
        return new Interval(share.Low * scale, share.High * scale);
    }
}
