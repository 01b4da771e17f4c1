using Distill.Core.Samples;
using Distill.Data;
using Distill.Data.Curation;
using Distill.Data.Synthetic;

namespace Distill.Studio.Tests;

/// <summary>A large dataset is listed while the studio is still reading it; the part shown is always a prefix of the whole.</summary>
public sealed class DatasetCatalogTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("distill-studio-catalog-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private async Task<DatasetEntry> WriteAsync(int rows)
    {
        var dir = Path.Combine(_root, "big");
        await using (var writer = await DatasetWriter.OpenAsync(dir, new DatasetWriterOptions { ShardRows = 50 }))
        {
            var i = 0;
            foreach (var s in SyntheticSamples.ToolTraces(rows, seed: 3))
            {
                if (++i % 10 == 0) await writer.RejectAsync(new RejectedSample(s, "near_duplicate"));
                else await writer.AppendAsync(s);
            }
        }
        return new DatasetCatalog([_root]).Resolve("big");
    }

    [Fact]
    public async Task A_request_before_the_read_ends_gets_the_rows_read_so_far_then_the_whole_list()
    {
        var dataset = await WriteAsync(600);
        var catalog = new DatasetCatalog([_root]) { PartialAfter = TimeSpan.Zero };

        var early = await catalog.SummariesAsync(dataset);
        var whole = await catalog.SummariesAsync(dataset, complete: true);

        Assert.True(whole.Complete);
        Assert.Equal(600, whole.Rows.Count);
        Assert.Equal(540, whole.Rows.Count(r => r.Source == SampleSummary.Accepted));
        // Read in 12+ shards with no wait allowed: the first answer is (all but surely) partial, holds at least a page, and is a prefix.
        Assert.True(early.Complete || early.Rows.Count is >= SampleFilter.DefaultPageSize and < 600, $"{early.Rows.Count} rows, complete: {early.Complete}");
        Assert.Equal(600, early.Expected);
        Assert.Equal(whole.Rows.Take(early.Rows.Count).Select(r => r.Id), early.Rows.Select(r => r.Id));
        // A sample beyond the part read first is still found: the lookup waits for the whole list.
        var (last, reason) = await new DatasetCatalog([_root]) { PartialAfter = TimeSpan.Zero }.FindAsync(dataset, whole.Rows[^1].Id);
        Assert.Equal(whole.Rows[^1].Id, last.Id);
        Assert.Equal("near_duplicate", reason);
    }

    [Fact]
    public async Task A_corrupt_shard_is_reported_by_name_once_then_the_dataset_is_read_again()
    {
        var dataset = await WriteAsync(200);
        var shards = DatasetReader.Open(dataset.Path).ShardPaths;
        var last = shards[^1];
        var good = await File.ReadAllBytesAsync(last);
        await File.WriteAllBytesAsync(last, good.Take(good.Length / 2).ToArray()); // cut in half, as a crash during a copy would
        var catalog = new DatasetCatalog([_root]) { PartialAfter = TimeSpan.Zero };

        var error = await Assert.ThrowsAsync<Distill.Core.Errors.DistillException>(() => catalog.SummariesAsync(dataset, complete: true));

        Assert.Contains(Path.GetFileName(last), error.OneLine);
        // Not stuck on the failed read: once the shard is mended, the next request reads the dataset again and lists all of it.
        await File.WriteAllBytesAsync(last, good);
        var whole = await catalog.SummariesAsync(dataset, complete: true);
        Assert.Equal(200, whole.Rows.Count);
    }

    [Fact]
    public async Task A_missing_shard_is_reported_by_name()
    {
        var dataset = await WriteAsync(200);
        var missing = DatasetReader.Open(dataset.Path).ShardPaths[1];
        File.Delete(missing);

        var error = await Assert.ThrowsAsync<Distill.Core.Errors.DistillException>(
            () => new DatasetCatalog([_root]) { PartialAfter = TimeSpan.Zero }.SummariesAsync(dataset, complete: true));

        Assert.Contains(Path.GetFileName(missing), error.OneLine);
        Assert.Contains("is missing", error.OneLine);
    }

    [Fact]
    public void A_page_of_a_list_still_being_read_says_how_far_the_read_has_come()
    {
        using var texts = SampleTexts.Create();
        var sample = new Sample { Id = "a", Kind = SampleKinds.ChainOfThought, Messages = [ChatMessage.User("q")] };
        var row = SampleSummary.From("d", "f.parquet", sample, null, null, texts.Add(sample, null), new FacetPool());

        var partial = SampleQuery.Run(new DatasetSummaries([row], texts, Complete: false, Expected: 1000), CurationState.Empty, new SampleFilter());
        var whole = SampleQuery.Run(new DatasetSummaries([row], texts), CurationState.Empty, new SampleFilter());

        Assert.Equal(new ReadProgress(1, 1000), partial.Reading);
        Assert.Null(whole.Reading);
    }
}
