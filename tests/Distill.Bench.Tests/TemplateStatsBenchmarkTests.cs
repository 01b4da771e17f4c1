namespace Distill.Bench.Tests;

public sealed class TemplateStatsBenchmarkTests
{
    [Fact]
    public async Task Templates_stats_and_duckdb_count_the_same_rows_calls_and_words()
    {
        var folder = Path.Combine(Path.GetTempPath(), "distill-bench-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            var result = await TemplateStatsBenchmark.RunAsync(folder, rows: 300);

            Assert.Equal(300, result.Ours.Attempted);
            Assert.Equal(300 - 300 / StudioBenchmark.RejectEvery, result.Ours.Accepted);
            // This test project includes DuckDB, so its side runs; the benchmark itself throws when the counts disagree.
            var duck = Assert.IsType<TemplateStatsBenchmark.Side>(result.DuckDb);
            Assert.Equal(result.Ours.ValidToolCalls, duck.ValidToolCalls);
            Assert.True(result.Ours.ValidToolCalls > 0);
            // The same word split on ASCII text, so the same diversity (ours counts n-grams by 64-bit hashes).
            Assert.Equal(duck.Distinct1, result.Ours.Distinct1, 9);
            Assert.Equal(duck.Distinct2, result.Ours.Distinct2, 9);
            Assert.True(result.Ours.Seconds > 0 && duck.Seconds > 0);
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }
}
