using Distill.Evaluation.Curation;

namespace Distill.Studio.Tests;

/// <summary>A <c>templates compare</c> result as the command leaves it (compare.json, compare.md, charts/compare.png), written by its own report code.</summary>
public static class ComparisonFolder
{
    public const string Key = "template-compare/support";

    /// <summary>The fixture dataset's two template versions as arms A and B on five tasks (B verified one more); written under <paramref name="runsRoot"/>.</summary>
    public static async Task<TemplateComparison> WriteAsync(string datasetDir, string runsRoot)
    {
        var stats = await TemplateStatsReader.ReadAsync([datasetDir], []);
        TemplateArm Arm(string key, bool[] verified) => new(key, datasetDir, stats.Single(s => s.Key == key), verified);
        var comparison = TemplateComparison.Of(Arm("support@v1", [true, true, false, true, false]), Arm("support@v2", [true, true, true, true, false]));
        TemplateComparisonReport.Write(Path.Combine(runsRoot, Key), comparison, []);
        return comparison;
    }
}
