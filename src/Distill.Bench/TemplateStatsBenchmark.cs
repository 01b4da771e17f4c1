using System.Diagnostics;
using Distill.Evaluation.Curation;

namespace Distill.Bench;

/// <summary>
/// `distill templates stats` over a synthetic tool-trace dataset (the rows of <c>bench studio</c>, every 50th a reject), timed as
/// the command runs it (<see cref="TemplateStatsReader"/>), and DuckDB computing the same aggregates over the same shards in
/// the same run (<see cref="DuckDbTemplateStats"/>): every number of the table that SQL expresses, on every core. DuckDB has no
/// MinHash, so its side leaves out the near-duplicate rate (our side computes it): the ratio favours DuckDB.
/// </summary>
public static class TemplateStatsBenchmark
{
    public sealed record Side(double Seconds, double CpuSeconds, long Attempted, long Accepted, long ValidToolCalls, double Distinct1, double Distinct2);

    public sealed record Result(int Rows, double WriteSeconds, Side Ours, long OursPeakWorkingSet, Side? DuckDb);

    public static async Task<Result> RunAsync(string folder, int rows, Action<string>? progress = null, CancellationToken ct = default)
    {
        var dataset = Path.Combine(folder, "dataset");
        var writeSeconds = await StudioBenchmark.EnsureDatasetAsync(dataset, rows, progress, ct).ConfigureAwait(false);

        progress?.Invoke("templates stats (Distill)...");
        var watch = Stopwatch.StartNew();
        var cpu = DatasetBenchmark.CpuSeconds();
        var stats = await TemplateStatsReader.ReadAsync([dataset], [], ct: ct).ConfigureAwait(false);
        var s = stats.Single(); // the synthetic rows come from one template version
        var ours = new Side(watch.Elapsed.TotalSeconds, DatasetBenchmark.CpuSeconds() - cpu, s.Attempted, s.Accepted, s.ValidToolCalls, s.Distinct1, s.Distinct2);
        var peak = Process.GetCurrentProcess().PeakWorkingSet64;

        progress?.Invoke("the same aggregates in DuckDB...");
        var duck = DatasetBenchmark.WithDuckDb<Side?>(() => DuckDbTemplateStats.Measure(dataset), null);
        if (duck is not null && (duck.Attempted != ours.Attempted || duck.Accepted != ours.Accepted || duck.ValidToolCalls != ours.ValidToolCalls))
            throw new InvalidOperationException($"DuckDB and Distill disagree: {duck} vs {ours}");
        return new Result(rows, writeSeconds, ours, peak, duck);
    }
}
