using System.Diagnostics;
using Distill.Data;
using Distill.Data.Storage;
using Distill.Data.Synthetic;

namespace Distill.Bench;

/// <summary>
/// Writes realistic tool-trace samples (top-20 logprobs on every assistant token) with the dataset store in three shard layouts,
/// nested (schema version 2, the "v1" format of issue 16), the first compact layout (schema version 3) and the current compact one
/// (schema version 4, "v2"), and reads each back three ways in
/// the same run: our streaming reader into `Sample` objects, DuckDB materialising every column of every row into .NET values (the
/// same work: rows into the application), and DuckDB scanning inside its engine. The write times cover the dataset writer only
/// (append and commit): the synthetic samples are generated beforehand, one shard's worth at a time, and that generation is timed
/// on its own. Targets (issue 16): compact rows >= 5x smaller
/// than nested, compact write >= 3,000 rows/s, our compact read within 1.5x of DuckDB's .NET read of the same files.
/// <para>DuckDB is not shipped with <c>distill</c>: where its assembly is absent the DuckDB columns are null; build the CLI with
/// <c>-p:BenchDuckDb=true</c> to include them.</para>
/// </summary>
public static class DatasetBenchmark
{
    /// <summary>
    /// One layout's numbers: wall-clock seconds, and CPU seconds of this process over the same span (all its threads, GC included),
    /// which a busy machine disturbs far less than wall time. The DuckDB times are null when DuckDB.NET is not part of this build.
    /// </summary>
    public sealed record FormatResult(string Format, long Rows, long Bytes, double WriteSeconds, double WriteCpuSeconds, double ReadSeconds,
        double ReadCpuSeconds, double? DuckDbReadSeconds, double? DuckDbReadCpuSeconds, double? DuckDbScanSeconds,
        double GenerateSeconds = 0, double GenerateCpuSeconds = 0, double ValidateSeconds = 0, double ValidateCpuSeconds = 0,
        long PeakWorkingSetBytes = 0)
    {
        public double BytesPerRow => (double)Bytes / Rows;
        public double WriteRowsPerSecond => Rows / WriteSeconds;
        public double WriteRowsPerCpuSecond => Rows / WriteCpuSeconds;
        public double ReadRowsPerSecond => Rows / ReadSeconds;
        public double ReadRowsPerCpuSecond => Rows / ReadCpuSeconds;
        public double? DuckDbReadRowsPerSecond => Rows / DuckDbReadSeconds;
        public double? DuckDbReadRowsPerCpuSecond => Rows / DuckDbReadCpuSeconds;
    }

    /// <summary>CPU time this process has used so far.</summary>
    internal static double CpuSeconds() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

    /// <summary>
    /// Runs the nested layout, then the two compact ones (version 3, version 4), each in its own subfolder of
    /// <paramref name="folder"/> (deleted first); with <paramref name="currentOnly"/> only the current compact layout (version 4),
    /// for runs too large to write three times (a million nested rows would take ~63 GB).
    /// </summary>
    public static async Task<IReadOnlyList<FormatResult>> RunAsync(string folder, int rows, CancellationToken cancellationToken,
        bool currentOnly = false)
    {
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
        var results = new List<FormatResult>();
        if (!currentOnly)
        {
            results.Add(await RunFormatAsync(Path.Combine(folder, "nested"), "nested (schema 2, v1)", ShardFormat.Nested, rows, cancellationToken));
            results.Add(await RunFormatAsync(Path.Combine(folder, "compact-v3"), "compact (schema 3)", ShardFormat.CompactV3, rows, cancellationToken));
        }
        results.Add(await RunFormatAsync(Path.Combine(folder, "compact"), "compact (schema 4, v2)", ShardFormat.Compact, rows, cancellationToken));
        return results;
    }

    private static async Task<FormatResult> RunFormatAsync(string folder, string name, ShardFormat format, int rows, CancellationToken cancellationToken)
    {
        const int shardRows = 2000;
        var watch = new Stopwatch();
        var generateWatch = new Stopwatch();
        double writeCpu = 0, generateCpu = 0;
        var writer = await DatasetWriter.OpenAsync(folder, new DatasetWriterOptions { ShardRows = shardRows, Format = format }, cancellationToken);
        await using (writer)
        {
            using var samples = SyntheticSamples.ToolTraces(rows, seed: 1).GetEnumerator();
            var shard = new List<Distill.Core.Samples.Sample>(shardRows);
            while (true)
            {
                shard.Clear();
                generateWatch.Start();
                var cpu = CpuSeconds();
                while (shard.Count < shardRows && samples.MoveNext()) shard.Add(samples.Current);
                SettleHeap();
                generateCpu += CpuSeconds() - cpu;
                generateWatch.Stop();
                if (shard.Count == 0) break;

                watch.Start();
                cpu = CpuSeconds();
                foreach (var sample in shard)
                {
                    await writer.AppendAsync(sample, cancellationToken);
                }
                if (shard.Count < shardRows) await writer.FlushAsync(cancellationToken);
                writeCpu += CpuSeconds() - cpu;
                watch.Stop();
            }
        }
        var writeSeconds = watch.Elapsed.TotalSeconds;
        var bytes = Directory.EnumerateFiles(Path.Combine(folder, "shards"), "*.parquet").Sum(f => new FileInfo(f).Length);

        // What `distill dataset validate` does: checksums, schema, every row read and checked.
        SettleHeap();
        watch.Restart();
        var validateCpuStart = CpuSeconds();
        var report = await DatasetValidator.ValidateAsync(folder, cancellationToken);
        var (validateSeconds, validateCpu) = (watch.Elapsed.TotalSeconds, CpuSeconds() - validateCpuStart);
        if (!report.IsValid || report.RowsChecked != rows)
            throw new InvalidOperationException($"validation found {report.ErrorCount} error(s) in {report.RowsChecked} of {rows} rows: " +
                string.Join("; ", report.Problems.Take(3).Select(p => p.Message)));

        var (readSeconds, readCpu) = await ReadAllAsync(folder, rows, cancellationToken);
        var (duckRead, duckReadCpu, duckScan) = DuckDbComparison(folder, format, rows);
        return new FormatResult(name, rows, bytes, writeSeconds, writeCpu, readSeconds, readCpu, duckRead, duckReadCpu, duckScan,
            generateWatch.Elapsed.TotalSeconds, generateCpu, validateSeconds, validateCpu, Process.GetCurrentProcess().PeakWorkingSet64);
    }

    /// <summary>
    /// `bench dataset --read DIR`: our reader and DuckDB's .NET read of an existing dataset's samples, in a process that has done
    /// nothing else, as `distill train` or `dataset upgrade` read one. (In the full benchmark the read follows writing and
    /// validating in the same process, and what the collector costs it varies with what those phases left.) No write or
    /// validate times.
    /// </summary>
    public static async Task<FormatResult> ReadExistingAsync(string folder, CancellationToken cancellationToken)
    {
        var reader = DatasetReader.Open(folder);
        long rows = reader.Manifest.Shards.Sum(s => s.Rows);
        if (rows == 0) throw new Distill.Core.Errors.DistillException($"dataset '{folder}' has no sample rows to read", "give --read a dataset folder that holds samples");
        var paths = reader.ShardPaths;
        long bytes = paths.Sum(p => new FileInfo(p).Length);
        int version = await ParquetShards.LayoutVersionAsync(paths[0], rejects: false, cancellationToken);
        var format = version >= CompactSchema.Version ? ShardFormat.Compact : version == CompactSchema.FirstVersion ? ShardFormat.CompactV3 : ShardFormat.Nested;
        var (readSeconds, readCpu) = await ReadAllAsync(folder, rows, cancellationToken);
        var (duckRead, duckReadCpu, duckScan) = DuckDbComparison(folder, format, rows);
        return new FormatResult($"{Path.GetFileName(Path.TrimEndingDirectorySeparator(folder))} (schema {version})", rows, bytes, 0, 0, readSeconds, readCpu,
            duckRead, duckReadCpu, duckScan, PeakWorkingSetBytes: Process.GetCurrentProcess().PeakWorkingSet64);
    }

    /// <summary>Wall and CPU seconds for our reader to hand out every sample of <paramref name="folder"/> with its logprobs.</summary>
    private static async Task<(double Seconds, double CpuSeconds)> ReadAllAsync(string folder, long rows, CancellationToken cancellationToken)
    {
        SettleHeap();
        var watch = Stopwatch.StartNew();
        var cpu = CpuSeconds();
        long read = 0, logprobs = 0;
        await foreach (var sample in DatasetReader.Open(folder).ReadSamplesAsync(cancellationToken))
        {
            read++;
            foreach (var m in sample.Messages) logprobs += m.Logprobs.Count;
        }
        var result = (watch.Elapsed.TotalSeconds, CpuSeconds() - cpu);
        if (read != rows) throw new InvalidOperationException($"read {read} of {rows} rows back");
        return result;
    }

    /// <summary>
    /// A full collection between phases, outside their timings: generating a shard's samples promotes ~half a gigabyte of new
    /// objects, and the background collection that follows would otherwise run on the second core during the next phase and
    /// be counted as that phase's CPU time. Each phase still pays for the collections its own allocations cause.
    /// </summary>
    internal static void SettleHeap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    /// <summary>DuckDB's two reads, or nulls when DuckDB.NET is not part of this build.</summary>
    private static (double?, double?, double?) DuckDbComparison(string folder, ShardFormat format, long rows) =>
        WithDuckDb(() => DuckDbParquetReads.Measure(folder, format, rows), (null, null, null));

    /// <summary>
    /// <paramref name="measure"/>'s result, or <paramref name="absent"/> when DuckDB.NET is not part of this build (the shipped CLI:
    /// loading the measuring method fails for want of the DuckDB assembly).
    /// </summary>
    internal static T WithDuckDb<T>(Func<T> measure, T absent)
    {
        try
        {
            return measure();
        }
        catch (FileNotFoundException e) when (e.FileName?.StartsWith("DuckDB", StringComparison.Ordinal) == true)
        {
            return absent;
        }
    }
}
