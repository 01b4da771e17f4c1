namespace Distill.Data.Tests;

public class RetryRejectsTests
{
    private static async Task<(List<string> Accepted, List<(string Id, string Reason)> Rejected)> ReadAsync(string dir)
    {
        var reader = DatasetReader.Open(dir);
        var accepted = (await reader.ReadSamplesAsync().ToListAsync()).Select(s => s.Id).ToList();
        var rejected = (await reader.ReadRejectsAsync().ToListAsync()).Select(r => (r.Sample.Id, r.RejectReason)).ToList();
        Assert.Empty(accepted.Intersect(rejected.Select(r => r.Id))); // never both
        Assert.Equal(rejected.Count, rejected.Select(r => r.Id).Distinct().Count());
        return (accepted, rejected);
    }

    [Fact]
    public async Task A_retried_reject_is_replaced_by_its_new_outcome_in_one_commit_and_the_manifest_keeps_the_attempts()
    {
        using var tmp = new TempDir();
        var s = Samples.ToolTraces(4);
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path))
        {
            await writer.AppendAsync(s[0]);
            await writer.RejectAsync(new(s[1], "truncated"));
            await writer.RejectAsync(new(s[2], "truncated"));
            await writer.RejectAsync(new(s[3], "refusal"));
        }

        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path))
        {
            writer.Retry(s[1].Id);
            writer.Retry(s[2].Id);
            Assert.False(writer.IsCommitted(s[1].Id));
            Assert.True(await writer.AppendAsync(s[1]));
            Assert.True(await writer.RejectAsync(new(s[2], "verifier_failed")));
        }

        var (accepted, rejected) = await ReadAsync(tmp.Path);
        Assert.Equal(new[] { s[0].Id, s[1].Id }.Order(StringComparer.Ordinal), accepted.Order(StringComparer.Ordinal));
        Assert.Equal([(s[3].Id, "refusal"), (s[2].Id, "verifier_failed")], rejected.OrderBy(r => r.Reason, StringComparer.Ordinal));
        var manifest = DatasetManifest.Load(tmp.Path);
        Assert.Equal((2, 2), (manifest.Counts.Accepted, manifest.Counts.Rejected));
        Assert.Equal(2, manifest.Attempts!.Count);
        Assert.Equal([(1, SampleAttempt.Rejected, "truncated"), (2, SampleAttempt.Accepted, null)],
            manifest.Attempts[s[1].Id].Select(a => (a.Number, a.Outcome, a.Reason)));
        Assert.Equal([(1, SampleAttempt.Rejected, "truncated"), (2, SampleAttempt.Rejected, "verifier_failed")],
            manifest.Attempts[s[2].Id].Select(a => (a.Number, a.Outcome, a.Reason)));
        Assert.True((await DatasetValidator.ValidateAsync(tmp.Path)).IsValid);
        Assert.Equal(DatasetReader.Open(tmp.Path).RejectPaths.Order(), Directory.GetFiles(tmp.Combine("rejects"), "*.parquet").Order()); // the replaced file is gone
    }

    [Fact]
    public async Task A_second_retry_appends_attempt_3()
    {
        using var tmp = new TempDir();
        var s = Samples.ToolTraces(1)[0];
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path))
            await writer.RejectAsync(new(s, "truncated"));
        for (int round = 0; round < 2; round++)
        {
            await using var writer = await DatasetWriter.OpenAsync(tmp.Path);
            writer.Retry(s.Id);
            await writer.RejectAsync(new(s, $"again_{round}"));
        }

        var history = DatasetManifest.Load(tmp.Path).Attempts![s.Id];
        Assert.Equal(["truncated", "again_0", "again_1"], history.Select(a => a.Reason));
        Assert.Equal([1, 2, 3], history.Select(a => a.Number));
        Assert.Equal([(s.Id, "again_1")], (await ReadAsync(tmp.Path)).Rejected);
    }

    [Fact]
    public async Task A_crash_before_the_manifest_update_of_a_retry_keeps_the_old_reject_and_a_resumed_retry_replaces_it_once()
    {
        using var tmp = new TempDir();
        var s = Samples.ToolTraces(3);
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path))
            foreach (var x in s) await writer.RejectAsync(new(x, "truncated"));

        // The crashing retry: new shard and rewritten reject file are on disk, the manifest is not updated.
        var crashing = await DatasetWriter.OpenAsync(tmp.Path, new DatasetWriterOptions { BeforeManifestUpdate = () => throw new IOException("simulated crash") });
        crashing.Retry(s[0].Id);
        await crashing.AppendAsync(s[0]);
        await Assert.ThrowsAsync<IOException>(() => crashing.FlushAsync());
        await crashing.AbandonAsync();

        var (acceptedAfterCrash, rejectedAfterCrash) = await ReadAsync(tmp.Path);
        Assert.Empty(acceptedAfterCrash);
        Assert.Equal(3, rejectedAfterCrash.Count);
        Assert.Null(DatasetManifest.Load(tmp.Path).Attempts);

        await using (var resumed = await DatasetWriter.OpenAsync(tmp.Path))
        {
            resumed.Retry(s[0].Id);
            await resumed.AppendAsync(s[0]);
        }

        var (accepted, rejected) = await ReadAsync(tmp.Path);
        Assert.Equal([s[0].Id], accepted);
        Assert.Equal(2, rejected.Count);
        Assert.True((await DatasetValidator.ValidateAsync(tmp.Path)).IsValid);
        var listed = DatasetManifest.Load(tmp.Path).Shards.Concat(DatasetManifest.Load(tmp.Path).Rejects).Select(e => e.File).ToHashSet();
        var onDisk = Directory.GetFiles(tmp.Path, "*.parquet", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(tmp.Path, f).Replace('\\', '/'));
        Assert.Equal(listed.Order(), onDisk.Order()); // the crash's leftovers and the replaced reject file are gone
    }

    [Fact]
    public async Task Retry_of_an_id_that_is_not_committed_does_nothing()
    {
        using var tmp = new TempDir();
        var s = Samples.ToolTraces(2);
        await using var writer = await DatasetWriter.OpenAsync(tmp.Path);
        writer.Retry(s[0].Id);
        Assert.True(await writer.AppendAsync(s[0]));
        await writer.FlushAsync();
        Assert.Null(DatasetManifest.Load(tmp.Path).Attempts);
    }
}
