using System.Text.Json.Nodes;
using Distill.Core.Errors;

namespace Distill.Data.Tests;

public class ResumeTests
{
    [Fact]
    public async Task Reopen_loads_committed_ids_and_skips_them_without_duplicates()
    {
        using var tmp = new TempDir();
        var all = Samples.ToolTraces(10);
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path, new DatasetWriterOptions { ShardRows = 3 }))
            foreach (var s in all.Take(6))
                await writer.AppendAsync(s);

        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path, new DatasetWriterOptions { ShardRows = 3 }))
        {
            Assert.Equal(all.Take(6).Select(s => s.Id).Order(), writer.CommittedIds.Order());
            Assert.True(writer.IsCommitted(all[0].Id));
            Assert.False(writer.IsCommitted(all[9].Id));
            var appended = new List<bool>();
            foreach (var s in all)
                appended.Add(await writer.AppendAsync(s));
            Assert.Equal([.. Enumerable.Repeat(false, 6), .. Enumerable.Repeat(true, 4)], appended);
            Assert.False(await writer.AppendAsync(all[9]), "an id appended earlier in the same session is skipped too");
        }

        var reader = DatasetReader.Open(tmp.Path);
        Samples.Equal(all, await reader.ReadSamplesAsync().ToListAsync());
        Assert.Equal(10, reader.Manifest.Counts.Accepted);
    }

    [Fact]
    public async Task A_rejected_id_counts_as_done_on_resume()
    {
        using var tmp = new TempDir();
        var s = Samples.ToolTraces(1)[0];
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path))
            Assert.True(await writer.RejectAsync(new(s, "verifier_failed")));
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path))
        {
            Assert.True(writer.IsCommitted(s.Id));
            Assert.False(await writer.AppendAsync(s));
        }
        Assert.Equal(0, DatasetReader.Open(tmp.Path).SampleCount);
    }

    [Fact]
    public async Task Crash_after_shard_rename_before_manifest_update_loses_and_duplicates_nothing_on_resume()
    {
        using var tmp = new TempDir();
        var all = Samples.ToolTraces(15);
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path))
        {
            foreach (var s in all.Take(10)) await writer.AppendAsync(s);
            await writer.FlushAsync();
        }

        // The "crashing" run: its shard is renamed into place, then the process dies before the manifest is rewritten.
        var crashing = await DatasetWriter.OpenAsync(tmp.Path, new DatasetWriterOptions
        {
            BeforeManifestUpdate = () => throw new IOException("simulated crash"),
        });
        foreach (var s in all.Skip(10)) await crashing.AppendAsync(s);
        await Assert.ThrowsAsync<IOException>(() => crashing.FlushAsync());
        string orphan = tmp.Combine("shards", "part-00001.parquet");
        Assert.True(File.Exists(orphan), "the crash left a renamed shard the manifest does not list");
        Assert.Equal(10, DatasetReader.Open(tmp.Path).SampleCount);
        await crashing.AbandonAsync(); // what the OS does for a killed process: the lock goes, nothing more is written

        await using (var resumed = await DatasetWriter.OpenAsync(tmp.Path))
        {
            Assert.Equal(10, resumed.CommittedIds.Count);
            Assert.False(File.Exists(orphan), "the orphan shard is cleaned up on reopen");
            foreach (var s in all) await resumed.AppendAsync(s);
        }

        var reader = DatasetReader.Open(tmp.Path);
        Samples.Equal(all, await reader.ReadSamplesAsync().ToListAsync());
        Assert.True((await DatasetValidator.ValidateAsync(tmp.Path)).IsValid);
    }

    [Fact]
    public async Task An_orphan_shard_on_disk_is_ignored_by_the_reader()
    {
        using var tmp = new TempDir();
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path))
            foreach (var s in Samples.ToolTraces(3)) await writer.AppendAsync(s);
        File.Copy(tmp.Combine("shards", "part-00000.parquet"), tmp.Combine("shards", "part-00007.parquet"));

        Assert.Equal(3, (await DatasetReader.Open(tmp.Path).ReadSamplesAsync().ToListAsync()).Count);
    }

    [Fact]
    public async Task Workers_with_their_own_tags_write_one_dataset_concurrently()
    {
        using var tmp = new TempDir();
        var all = Samples.ToolTraces(40);
        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            await using var writer = await DatasetWriter.OpenAsync(tmp.Path,
                new DatasetWriterOptions { ShardRows = 3, WorkerTag = DatasetWriterOptions.WorkerTagFor(w, 4) });
            foreach (var s in all.Where((_, i) => i % 4 == w))
                await writer.AppendAsync(s);
        })));

        var reader = DatasetReader.Open(tmp.Path);
        Assert.Equal(40, reader.SampleCount);
        Assert.Equal(4 * 4, reader.Manifest.Shards.Count);
        Assert.Contains(reader.Manifest.Shards, s => s.File == "shards/part-w3of4-00003.parquet");
        Assert.Equal(all.Select(s => s.Id).Order(), (await reader.ReadSamplesAsync().ToListAsync()).Select(s => s.Id).Order());
    }

    [Fact]
    public async Task A_second_live_writer_with_the_same_worker_tag_is_refused()
    {
        using var tmp = new TempDir();
        await using var first = await DatasetWriter.OpenAsync(tmp.Path);
        var e = await Assert.ThrowsAsync<DistillException>(() => DatasetWriter.OpenAsync(tmp.Path));
        Assert.Contains(tmp.Path, e.Message);
    }

    [Fact]
    public async Task Secret_looking_config_keys_are_scrubbed_from_the_manifest()
    {
        using var tmp = new TempDir();
        var config = JsonNode.Parse("""
            {"teacher":{"endpoint":"https://x.openai.azure.com","ApiKey":"sk-live-123","deployment":"gpt-4o","tokenizer_id":"tok:1"},
             "max_tokens":512,"client_secret":"s3cr3t","db":{"password":"hunter2"},"access_token":"tok-abc","keys":["k1"],
             "recipes":[{"name":"cot","bearerToken":"bt"}]}
            """)!.AsObject();
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path, new DatasetWriterOptions { Config = config }))
            await writer.AppendAsync(Samples.Sparse("a"));

        string text = await File.ReadAllTextAsync(tmp.Combine("manifest.json"));
        foreach (var secret in new[] { "sk-live-123", "s3cr3t", "hunter2", "tok-abc", "k1", "\"bt\"" })
            Assert.DoesNotContain(secret, text);
        var stored = DatasetReader.Open(tmp.Path).Manifest.Config!;
        Assert.Equal(512, (int)stored["max_tokens"]!);
        Assert.Equal("gpt-4o", (string?)stored["teacher"]!["deployment"]);
        Assert.Equal("tok:1", (string?)stored["teacher"]!["tokenizer_id"]);
        Assert.Equal(ConfigScrubber.Redacted, (string?)stored["teacher"]!["ApiKey"]);
        Assert.Equal(ConfigScrubber.Redacted, (string?)stored["recipes"]![0]!["bearerToken"]);
        Assert.Equal("sk-live-123", config["teacher"]!["ApiKey"]!.GetValue<string>()); // the caller's object is not modified
    }

    [Fact]
    public async Task Reopen_deletes_only_this_workers_leftovers()
    {
        using var tmp = new TempDir();
        var tag = DatasetWriterOptions.WorkerTagFor(0, 2);
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path, new DatasetWriterOptions { WorkerTag = tag }))
            await writer.AppendAsync(Samples.Sparse("a"));
        string mineOrphan = tmp.Combine("shards", $"part-{tag}-00005.parquet");
        string mineTemp = tmp.Combine("rejects", $"part-{tag}-00000.parquet.0123.tmp");
        string othersOrphan = tmp.Combine("shards", "part-w1of2-00000.parquet"); // worker 1 may be between rename and manifest update
        string staleManifestTemp = tmp.Combine("manifest.json.dead.tmp");
        string unrelated = tmp.Combine("shards", "notes.tmp");
        foreach (var f in new[] { mineOrphan, mineTemp, othersOrphan, staleManifestTemp, unrelated })
            await File.WriteAllTextAsync(f, "x");

        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path, new DatasetWriterOptions { WorkerTag = tag }))
        {
            Assert.False(File.Exists(mineOrphan));
            Assert.False(File.Exists(mineTemp));
            Assert.True(File.Exists(othersOrphan));
            Assert.True(File.Exists(unrelated));
            await writer.AppendAsync(Samples.Sparse("b"));
        }
        Assert.False(File.Exists(staleManifestTemp), "stale manifest temp files are removed under the manifest lock");
        Assert.Equal(2, DatasetReader.Open(tmp.Path).SampleCount);
    }

    [Fact]
    public async Task A_full_sample_buffer_commits_only_samples_so_rejects_are_not_cut_into_tiny_shards()
    {
        using var tmp = new TempDir();
        var all = Samples.ToolTraces(8);
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path, new DatasetWriterOptions { ShardRows = 3 }))
        {
            for (int i = 0; i < all.Count; i++)
            {
                if (i % 4 == 3) Assert.True(await writer.RejectAsync(new(all[i], "too_long")));
                else Assert.True(await writer.AppendAsync(all[i]));
            }
            Assert.Equal(6, writer.CommittedIds.Count); // two full sample shards; the two rejects are still buffered
            Assert.Equal(2, writer.PendingRows);
            Assert.True(writer.IsCommitted(all[3].Id), "a buffered id counts as done");
        }

        var manifest = DatasetReader.Open(tmp.Path).Manifest;
        Assert.Equal([3L, 3L], manifest.Shards.Select(s => s.Rows));
        Assert.Equal([2L], manifest.Rejects.Select(s => s.Rows));
    }
}
