using System.Diagnostics;
using Distill.Data;
using Distill.Data.Synthetic;

namespace Distill.Bench;

/// <summary>
/// Writes realistic tool-trace samples (top-20 logprobs on every assistant token) with the dataset store, then reads
/// them back three ways in the same run: our streaming reader into `Sample` objects, DuckDB materialising every column
/// of every row into .NET values (the same work: rows into the application), and DuckDB scanning inside its engine.
/// The target in the issue: our read within 2x of DuckDB's (the materialising one; the in-engine scan is shown for scale).
/// <para>DuckDB is not shipped with <c>distill</c>: where its assembly is absent the two DuckDB rows are left out
/// (<see cref="DuckDbRows"/> says whether they are there); build the CLI with <c>-p:BenchDuckDb=true</c> to include them.</para>
/// </summary>
public static class DatasetBenchmark
{
    public sealed record Measurement(string Name, long Rows, double Seconds, long Bytes)
    {
        public double RowsPerSecond => Rows / Seconds;
        public double MegabytesPerSecond => Bytes / 1e6 / Seconds;
    }

    /// <summary>How many rows DuckDB adds to the result (the materialising read, then the in-engine scan).</summary>
    public const int DuckDbRows = 2;

    public static async Task<IReadOnlyList<Measurement>> RunAsync(string folder, int rows, CancellationToken cancellationToken)
    {
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
        var results = new List<Measurement>();

        var watch = Stopwatch.StartNew();
        await using (var writer = await DatasetWriter.OpenAsync(folder, new DatasetWriterOptions { ShardRows = 2000 }, cancellationToken))
        {
            foreach (var sample in SyntheticSamples.ToolTraces(rows, seed: 1))
            {
                await writer.AppendAsync(sample, cancellationToken);
            }
        }
        var bytes = Directory.EnumerateFiles(Path.Combine(folder, "shards")).Sum(f => new FileInfo(f).Length);
        results.Add(new("write (Distill.Data)", rows, watch.Elapsed.TotalSeconds, bytes));

        watch.Restart();
        long read = 0, turns = 0, logprobs = 0;
        await foreach (var sample in DatasetReader.Open(folder).ReadSamplesAsync(cancellationToken))
        {
            read++;
            turns += sample.Messages.Count;
            foreach (var m in sample.Messages) logprobs += m.Logprobs.Count;
        }
        results.Add(new("read (Distill.Data → Sample)", read, watch.Elapsed.TotalSeconds, bytes));

        results.AddRange(DuckDbComparison(folder, bytes));
        _ = (turns, logprobs);
        return results;
    }

    /// <summary>DuckDB's two reads, or none when DuckDB.NET is not part of this build.</summary>
    private static IReadOnlyList<Measurement> DuckDbComparison(string folder, long bytes)
    {
        try
        {
            return DuckDbParquetReads.Measure(folder, bytes);
        }
        catch (FileNotFoundException e) when (e.FileName?.StartsWith("DuckDB", StringComparison.Ordinal) == true)
        {
            return [];
        }
    }
}
