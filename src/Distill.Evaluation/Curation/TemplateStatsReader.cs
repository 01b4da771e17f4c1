using System.Threading.Channels;
using Distill.Core.Samples;
using Distill.Data;

namespace Distill.Evaluation.Curation;

/// <summary>Reads datasets (accepted and rejected rows) into a <see cref="TemplateStatsBuilder"/>.</summary>
public static class TemplateStatsReader
{
    /// <summary>Rows prepared together on the pool's threads before they are counted in order.</summary>
    private const int BatchRows = 512;

    /// <summary>Statistics of every template version in <paramref name="datasets"/>, linked to students' scores found under <paramref name="runRoots"/>.</summary>
    public static async Task<IReadOnlyList<TemplateVersionStats>> ReadAsync(IReadOnlyList<string> datasets, IEnumerable<string> runRoots,
        double nearDuplicateThreshold = 0.85, CancellationToken ct = default)
    {
        var builder = new TemplateStatsBuilder(nearDuplicateThreshold);
        // One task reads (Parquet decoding) while this one prepares a batch of rows on every core (MinHash signatures), then
        // counts them in the order they were read, which is the order duplicates are judged in (the search for near-duplicates
        // among the rows before the batch, most of the work in a large dataset, again on every core).
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct); // ends the read if counting fails
        var rows = Channel.CreateBounded<(Sample Sample, string? Reason, string Dataset)>(new BoundedChannelOptions(4 * BatchRows) { SingleWriter = true, SingleReader = true });
        var reading = Task.Run(async () =>
        {
            try
            {
                foreach (var dataset in datasets)
                {
                    // No statistic looks at the teacher logprobs, which are most of a tool-trace row's bytes and decoding time.
                    var reader = DatasetReader.Open(dataset);
                    await foreach (var sample in reader.ReadSamplesAsync(stop.Token, withLogprobs: false).ConfigureAwait(false))
                        await rows.Writer.WriteAsync((sample, null, reader.Directory), stop.Token).ConfigureAwait(false);
                    await foreach (var rejected in reader.ReadRejectsAsync(stop.Token, withLogprobs: false).ConfigureAwait(false))
                        await rows.Writer.WriteAsync((rejected.Sample, rejected.RejectReason, reader.Directory), stop.Token).ConfigureAwait(false);
                }
            }
            finally
            {
                // The read's error (a corrupt shard, say) reaches the user as itself when this task is awaited after the loop.
                rows.Writer.TryComplete();
            }
        }, CancellationToken.None);

        try
        {
            var batch = new List<(Sample Sample, string? Reason, string Dataset)>(BatchRows);
            while (await rows.Reader.WaitToReadAsync(ct).ConfigureAwait(false))
            {
                while (batch.Count < BatchRows && rows.Reader.TryRead(out var row)) batch.Add(row);
                if (batch.Count < BatchRows && !rows.Reader.Completion.IsCompleted) continue;
                Count(builder, batch, ct);
            }
            Count(builder, batch, ct);
            await reading.ConfigureAwait(false); // the read's own error, if it failed
        }
        finally
        {
            stop.Cancel();
        }
        return builder.Build(StudentScores.Find(runRoots));
    }

    private static void Count(TemplateStatsBuilder builder, List<(Sample Sample, string? Reason, string Dataset)> batch, CancellationToken ct)
    {
        if (batch.Count == 0) return;
        var prepared = batch.AsParallel().AsOrdered().WithCancellation(ct).Select(r => builder.Prepare(r.Sample)).ToArray();
        builder.Add(prepared.Select((row, i) => (row, batch[i].Reason, batch[i].Dataset)).ToList());
        batch.Clear();
    }
}
