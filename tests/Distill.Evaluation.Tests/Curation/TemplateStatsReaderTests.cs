using Distill.Core.Errors;
using Distill.Core.Samples;
using Distill.Data;
using Distill.Data.Synthetic;
using Distill.Evaluation.Curation;

namespace Distill.Evaluation.Tests.Curation;

public sealed class TemplateStatsReaderTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "distill-stats-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private async Task<List<(Sample Sample, string? Reason)>> WriteAsync(int rows)
    {
        var written = new List<(Sample, string?)>();
        await using var writer = await DatasetWriter.OpenAsync(_dir, new DatasetWriterOptions { ShardRows = 100 });
        var i = 0;
        foreach (var sample in SyntheticSamples.ToolTraces(rows, seed: 3, logprobsTopK: 2))
        {
            if (++i % 25 == 0)
            {
                await writer.RejectAsync(new RejectedSample(sample, "verifier_failed"));
                written.Add((sample, "verifier_failed"));
            }
            else
            {
                await writer.AppendAsync(sample);
                written.Add((sample, null));
            }
        }
        return written;
    }

    [Fact]
    public async Task Rows_read_and_counted_in_parallel_batches_give_the_numbers_of_adding_them_one_by_one()
    {
        var written = await WriteAsync(1_300); // more than two batches of 512

        var stats = await TemplateStatsReader.ReadAsync([_dir], []);

        // The reader hands accepted rows first, then rejects (each in file order): the order duplicates are judged in.
        var oneByOne = new TemplateStatsBuilder();
        foreach (var (sample, reason) in written.Where(w => w.Reason is null).Concat(written.Where(w => w.Reason is not null)))
            oneByOne.Add(sample, reason, Path.GetFullPath(_dir));
        var expected = oneByOne.Build();
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(expected.Select(s => s with { Datasets = [] })),
            System.Text.Json.JsonSerializer.Serialize(stats.Select(s => s with { Datasets = [] })));
        Assert.Equal(1_300, stats.Single().Attempted);
        Assert.Equal(52, stats.Single().RejectsByReason["verifier_failed"]);
    }

    [Fact]
    public async Task A_shard_that_fails_to_read_is_reported_with_the_readers_own_error()
    {
        await WriteAsync(600);
        var shard = Directory.GetFiles(Path.Combine(_dir, "shards"), "*.parquet").Order().Last();
        var bytes = await File.ReadAllBytesAsync(shard);
        Array.Clear(bytes, 4, bytes.Length / 2); // same length, garbage after the magic number
        await File.WriteAllBytesAsync(shard, bytes);

        var e = await Assert.ThrowsAnyAsync<Exception>(() => TemplateStatsReader.ReadAsync([_dir], []));

        // The dataset reader's own error, through the reading task: the user sees which file is broken.
        Assert.IsType<DistillException>(e);
        Assert.Contains(Path.GetFileName(shard), e.Message);
    }
}
