using Distill.Core.Samples;

namespace Distill.Data.Tests;

public class RoundTripTests
{
    [Fact]
    public async Task Written_samples_read_back_equal_including_nested_lists_logprobs_and_nulls()
    {
        using var tmp = new TempDir();
        var input = Samples.ToolTraces(7);
        input.Add(Samples.Sparse("sparse-1"));
        input.Add(Samples.Sparse("sparse-2", SampleKinds.ChainOfThought) with
        {
            Teacher = new TeacherInfo("azure-openai", "gpt-4o", null),
            Params = new GenerationParams(null, 0.9, null, null),
            Verified = false,
            Score = null,
            Answer = "",
            Messages = [ChatMessage.User("q"), ChatMessage.Assistant("x", logprobs: [new TokenLogprob("x", null, -0.5, [])])],
        });

        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path, new DatasetWriterOptions { ShardRows = 4, RowGroupRows = 3 }))
            foreach (var s in input)
                Assert.True(await writer.AppendAsync(s));

        var reader = DatasetReader.Open(tmp.Path);
        Assert.Equal(3, reader.Manifest.Shards.Count);
        Assert.Equal(input.Count, reader.SampleCount);
        Samples.Equal(input, await reader.ReadSamplesAsync().ToListAsync());
    }

    [Fact]
    public async Task Created_at_is_stored_with_microsecond_precision_in_utc()
    {
        using var tmp = new TempDir();
        var at = new DateTimeOffset(2026, 5, 6, 7, 8, 9, TimeSpan.FromHours(2)).AddTicks(1234567);
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path))
            await writer.AppendAsync(Samples.Sparse("a") with { CreatedAt = at });

        var read = Assert.Single(await DatasetReader.Open(tmp.Path).ReadSamplesAsync().ToListAsync());
        Assert.Equal(at.UtcTicks - at.UtcTicks % 10, read.CreatedAt.UtcTicks);
        Assert.Equal(TimeSpan.Zero, read.CreatedAt.Offset);
    }

    [Fact]
    public async Task Rejects_round_trip_with_their_reason()
    {
        using var tmp = new TempDir();
        var input = Samples.ToolTraces(3).Select((s, i) => new RejectedSample(s, i == 0 ? "verifier_failed" : "duplicate")).ToList();
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path))
            foreach (var r in input)
                Assert.True(await writer.RejectAsync(r));

        var reader = DatasetReader.Open(tmp.Path);
        var read = await reader.ReadRejectsAsync().ToListAsync();
        Assert.Equal(input.Select(r => r.RejectReason), read.Select(r => r.RejectReason));
        Samples.Equal(input.Select(r => r.Sample), read.Select(r => r.Sample));
        Assert.Equal(2, reader.Manifest.Counts.RejectedByReason["duplicate"]);
        Assert.Empty(await reader.ReadSamplesAsync().ToListAsync());
    }
}
