namespace Distill.Bench.Tests;

public sealed class DatasetBenchmarkTests
{
    [Fact]
    public async Task Our_read_and_duckdbs_see_every_written_row()
    {
        var folder = Path.Combine(Path.GetTempPath(), "distill-bench-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            var results = await DatasetBenchmark.RunAsync(folder, rows: 50, CancellationToken.None);

            // With DuckDB in the build (this test project references it): write, our read, DuckDB's read, DuckDB's scan.
            Assert.Equal(2 + DatasetBenchmark.DuckDbRows, results.Count);
            Assert.All(results, m => Assert.Equal(50L, m.Rows));
            Assert.True(results[0].Bytes > 0);
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }
}
