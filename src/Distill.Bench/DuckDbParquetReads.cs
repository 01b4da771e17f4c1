using System.Diagnostics;
using System.Runtime.CompilerServices;
using Distill.Data.Storage;
using DuckDB.NET.Data;

namespace Distill.Bench;

/// <summary>
/// DuckDB reading a dataset's Parquet shards, the reference of <see cref="DatasetBenchmark"/>. Kept in its own class so that
/// only calling <see cref="Measure"/> loads DuckDB.NET: a CLI built without it fails that call (FileNotFoundException), not the
/// whole benchmark.
/// </summary>
internal static class DuckDbParquetReads
{
    /// <summary>
    /// Seconds (wall and CPU) for every column of every row into .NET values, then wall seconds for a scan inside DuckDB's engine;
    /// both on one thread.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static (double? Read, double? ReadCpu, double? Scan) Measure(string folder, ShardFormat format, long expectedRows)
    {
        var glob = Path.Combine(folder, "shards", "*.parquet").Replace("'", "''");
        using var connection = new DuckDBConnection("Data Source=:memory:");
        connection.Open();
        using (var threads = connection.CreateCommand())
        {
            // One thread, as our reader uses one: the ratio compares work, not core counts.
            threads.CommandText = "SET threads TO 1";
            threads.ExecuteNonQuery();
        }

        DatasetBenchmark.SettleHeap();
        var watch = Stopwatch.StartNew();
        var cpu = DatasetBenchmark.CpuSeconds();
        long duckRows = 0;
        using (var command = connection.CreateCommand())
        {
            command.CommandText = $"SELECT * FROM read_parquet('{glob}')";
            // Streamed, as our reader streams: a materialised result holds every decoded row (~6.5 GB at 100,000 rows).
            command.UseStreamingMode = true;
            using var reader = command.ExecuteReader();
            var values = new object[reader.FieldCount];
            while (reader.Read())
            {
                reader.GetValues(values);
                duckRows++;
            }
        }
        var (read, readCpu) = (watch.Elapsed.TotalSeconds, DatasetBenchmark.CpuSeconds() - cpu);
        if (duckRows != expectedRows) throw new InvalidOperationException($"DuckDB read {duckRows} of {expectedRows} rows");

        watch.Restart();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = format is ShardFormat.Compact or ShardFormat.CompactV3
                ? $"SELECT count(*), sum(len(messages)), sum(len(lp_logprobs)), sum(hash(lp_top_token_ids)), sum(hash({(format == ShardFormat.Compact ? "lp_top_logprob_gaps" : "lp_top_logprobs")})) FROM read_parquet('{glob}')"
                : "SELECT count(*), sum(len(messages)), sum(list_sum(list_transform(messages, lambda m: len(m.logprobs)))), " +
                  $"sum(hash(list_transform(messages, lambda m: m.logprobs))) FROM read_parquet('{glob}')";
            using var reader = command.ExecuteReader();
            reader.Read();
        }
        return (read, readCpu, watch.Elapsed.TotalSeconds);
    }
}
