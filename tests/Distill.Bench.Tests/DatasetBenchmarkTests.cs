namespace Distill.Bench.Tests;

public sealed class DatasetBenchmarkTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "distill-bench-test-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task All_three_layouts_and_duckdbs_reads_see_every_written_row()
    {
        var results = await DatasetBenchmark.RunAsync(_folder, rows: 50, CancellationToken.None);

        // Nested, compact v3, compact v4; with DuckDB in the build (this test project references it) both DuckDB reads are timed.
        Assert.Equal(3, results.Count);
        Assert.All(results, r => Assert.Equal(50L, r.Rows));
        Assert.All(results, r => Assert.NotNull(r.DuckDbReadSeconds));
        Assert.All(results, r => Assert.NotNull(r.DuckDbScanSeconds));
        // The point of the compact layout: top-20 logprob rows take a fraction of the nested bytes.
        Assert.True(results[1].Bytes * 2 < results[0].Bytes, $"compact v3 {results[1].Bytes} bytes vs nested {results[0].Bytes}");
        Assert.True(results[2].Bytes < results[1].Bytes, $"compact v4 {results[2].Bytes} bytes vs v3 {results[1].Bytes}");
        Assert.All(results, r => Assert.True(r.GenerateCpuSeconds > 0 && r.WriteCpuSeconds > 0 && r.ValidateCpuSeconds > 0));
        Assert.All(results, r => Assert.True(r.PeakWorkingSetBytes > 0));
    }

    [Fact]
    public async Task Current_only_writes_validates_and_reads_the_schema_4_layout_alone()
    {
        var result = Assert.Single(await DatasetBenchmark.RunAsync(_folder, rows: 30, CancellationToken.None, currentOnly: true));

        Assert.Equal("compact (schema 4, v2)", result.Format);
        Assert.Equal(30L, result.Rows);
        Assert.True(result.ValidateSeconds > 0 && result.DuckDbReadSeconds > 0);
        Assert.Equal(["compact"], Directory.GetDirectories(_folder).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Read_existing_times_both_readers_over_every_row_of_a_written_dataset()
    {
        await DatasetBenchmark.RunAsync(_folder, rows: 40, CancellationToken.None, currentOnly: true);

        var result = await DatasetBenchmark.ReadExistingAsync(Path.Combine(_folder, "compact"), CancellationToken.None);

        Assert.Equal("compact (schema 4)", result.Format);
        Assert.Equal(40L, result.Rows);
        Assert.True(result.ReadSeconds > 0 && result.DuckDbReadSeconds > 0 && result.Bytes > 0);
        Assert.Equal(0, result.WriteSeconds);
    }

    [Fact]
    public async Task Read_existing_refuses_a_folder_without_sample_rows()
    {
        await using (await Distill.Data.DatasetWriter.OpenAsync(_folder)) { }

        var e = await Assert.ThrowsAsync<Distill.Core.Errors.DistillException>(() => DatasetBenchmark.ReadExistingAsync(_folder, CancellationToken.None));
        Assert.Contains("no sample rows", e.Message);
    }
}
