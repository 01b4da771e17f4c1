using Distill.Data;

namespace Distill.Evaluation.Curation;

/// <summary>Reads datasets (accepted and rejected rows) into a <see cref="TemplateStatsBuilder"/>.</summary>
public static class TemplateStatsReader
{
    /// <summary>Statistics of every template version in <paramref name="datasets"/>, linked to students' scores found under <paramref name="runRoots"/>.</summary>
    public static async Task<IReadOnlyList<TemplateVersionStats>> ReadAsync(IReadOnlyList<string> datasets, IEnumerable<string> runRoots,
        double nearDuplicateThreshold = 0.85, CancellationToken ct = default)
    {
        var builder = new TemplateStatsBuilder(nearDuplicateThreshold);
        foreach (var dataset in datasets)
        {
            var reader = DatasetReader.Open(dataset);
            await foreach (var sample in reader.ReadSamplesAsync(ct).ConfigureAwait(false)) builder.Add(sample, null, reader.Directory);
            await foreach (var rejected in reader.ReadRejectsAsync(ct).ConfigureAwait(false)) builder.Add(rejected.Sample, rejected.RejectReason, reader.Directory);
        }
        return builder.Build(StudentScores.Find(runRoots));
    }
}
