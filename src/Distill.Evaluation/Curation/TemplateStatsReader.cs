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
            // No statistic looks at the teacher logprobs, which are most of a tool-trace row's bytes and decoding time.
            var reader = DatasetReader.Open(dataset);
            await foreach (var sample in reader.ReadSamplesAsync(ct, withLogprobs: false).ConfigureAwait(false)) builder.Add(sample, null, reader.Directory);
            await foreach (var rejected in reader.ReadRejectsAsync(ct, withLogprobs: false).ConfigureAwait(false)) builder.Add(rejected.Sample, rejected.RejectReason, reader.Directory);
        }
        return builder.Build(StudentScores.Find(runRoots));
    }
}
