using Distill.Core.Errors;
using Distill.Core.Samples;
using Distill.Data.Storage;
using Parquet;

namespace Distill.Data.Tests;

/// <summary><c>distill dataset upgrade</c>: older shards rewritten compact, atomically and resumably.</summary>
public class UpgradeTests
{
    private static readonly string V1Fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", "schema-v1");

    private static async Task<List<Sample>> WriteNestedAsync(string dir)
    {
        var samples = Samples.ToolTraces(5, seed: 9, topK: 3);
        await using var writer = await DatasetWriter.OpenAsync(dir, new DatasetWriterOptions { Format = ShardFormat.Nested, ShardRows = 3 });
        foreach (var s in samples) await writer.AppendAsync(s);
        await writer.RejectAsync(new RejectedSample(samples[0] with { Id = "rejected" }, "verifier_failed"));
        return samples;
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }
    }

    [Fact]
    public async Task Upgrade_rewrites_nested_shards_compact_and_the_dataset_reads_the_same()
    {
        using var tmp = new TempDir();
        var samples = await WriteNestedAsync(tmp.Path);
        var before = DatasetReader.Open(tmp.Path).Manifest;

        var result = await DatasetUpgrade.UpgradeAsync(tmp.Path);

        Assert.Equal(new UpgradeResult(3, 0, result.BytesBefore, result.BytesAfter), result);
        Assert.True(result.BytesAfter < result.BytesBefore);
        var reader = DatasetReader.Open(tmp.Path);
        Assert.Equal(DatasetSchema.Version, reader.Manifest.SchemaVersion);
        Assert.All(reader.Manifest.Shards.Concat(reader.Manifest.Rejects), e => Assert.EndsWith(".v4.parquet", e.File));
        Assert.Equal(before.Shards.Select(e => (e.Rows, e.Worker)), reader.Manifest.Shards.Select(e => (e.Rows, e.Worker)));
        Assert.All(before.Shards.Concat(before.Rejects), e => Assert.False(File.Exists(DatasetWriter.Resolve(tmp.Path, e.File))));
        Samples.Equal(samples, await reader.ReadSamplesAsync().ToListAsync());
        Assert.Equal("verifier_failed", Assert.Single(await reader.ReadRejectsAsync().ToListAsync()).RejectReason);
        Assert.True((await DatasetValidator.ValidateAsync(tmp.Path)).IsValid);

        // Again: nothing left to do. And a writer resuming it continues after the upgraded files' numbers.
        Assert.Equal(new UpgradeResult(0, 3, 0, 0), await DatasetUpgrade.UpgradeAsync(tmp.Path));
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path, new DatasetWriterOptions { ShardRows = 3 }))
            await writer.AppendAsync(Samples.Sparse("new"));
        Assert.Equal("shards/part-00002.parquet", DatasetReader.Open(tmp.Path).Manifest.Shards[^1].File);
    }

    [Fact]
    public async Task Upgrade_reads_a_version_1_dataset_the_same_before_and_after()
    {
        using var tmp = new TempDir();
        CopyFolder(V1Fixture, tmp.Path);
        var before = await DatasetReader.Open(tmp.Path).ReadSamplesAsync().ToListAsync();
        var rejectsBefore = await DatasetReader.Open(tmp.Path).ReadRejectsAsync().ToListAsync();

        Assert.Equal(2, (await DatasetUpgrade.UpgradeAsync(tmp.Path)).Upgraded);

        var reader = DatasetReader.Open(tmp.Path);
        Samples.Equal(before, await reader.ReadSamplesAsync().ToListAsync());
        Samples.Equal(rejectsBefore.Select(r => r.Sample), (await reader.ReadRejectsAsync().ToListAsync()).Select(r => r.Sample));
        Assert.Equal(DatasetSchema.Version, reader.Manifest.SchemaVersion);
    }

    [Fact]
    public async Task Upgrade_rewrites_version_3_compact_shards_as_version_4_with_the_same_values()
    {
        using var tmp = new TempDir();
        var samples = Samples.ToolTraces(5, seed: 4, topK: 5);
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path, new DatasetWriterOptions { Format = ShardFormat.CompactV3, ShardRows = 3 }))
            foreach (var s in samples) await writer.AppendAsync(s);
        var v3 = DatasetReader.Open(tmp.Path);
        Assert.All(v3.ShardPaths, p => Assert.Equal(3, ParquetShards.LayoutVersionAsync(p, false, CancellationToken.None).Result));
        var before = await v3.ReadSamplesAsync().ToListAsync();

        var result = await DatasetUpgrade.UpgradeAsync(tmp.Path);

        Assert.Equal(2, result.Upgraded);
        var reader = DatasetReader.Open(tmp.Path);
        Assert.All(reader.ShardPaths, p => Assert.EndsWith(".v4.parquet", p));
        Assert.All(reader.ShardPaths, p => Assert.Equal(CompactSchema.Version, ParquetShards.LayoutVersionAsync(p, false, CancellationToken.None).Result));
        Samples.Equal(samples, before);
        Samples.Equal(samples, await reader.ReadSamplesAsync().ToListAsync());
        // The next writer numbers its shards after the upgraded ones.
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path, new DatasetWriterOptions { ShardRows = 3 }))
            await writer.AppendAsync(Samples.Sparse("new"));
        Assert.Equal("shards/part-00002.parquet", DatasetReader.Open(tmp.Path).Manifest.Shards[^1].File);
    }

    [Fact]
    public async Task An_upgrade_killed_before_its_manifest_swap_reuses_the_files_it_finished()
    {
        using var tmp = new TempDir();
        using var other = new TempDir();
        await WriteNestedAsync(tmp.Path);
        CopyFolder(tmp.Path, other.Path);
        // The other copy upgrades at float32; its new files, planted next to our sources, are what a killed run leaves behind.
        await DatasetUpgrade.UpgradeAsync(other.Path, LogprobPrecision.Float32);
        var planted = Directory.EnumerateFiles(Path.Combine(other.Path, "shards"), "*.v4.parquet").ToList();
        foreach (var file in planted) File.Copy(file, Path.Combine(tmp.Path, "shards", Path.GetFileName(file)));

        Assert.Equal(3, (await DatasetUpgrade.UpgradeAsync(tmp.Path, LogprobPrecision.Float16)).Upgraded);

        // The planted (float32) sample shards were reused; the reject, not planted, was written at float16.
        var manifest = DatasetReader.Open(tmp.Path).Manifest;
        foreach (var entry in manifest.Shards.Concat(manifest.Rejects))
        {
            await using var parquet = await ParquetReader.CreateAsync(DatasetWriter.Resolve(tmp.Path, entry.File));
            Assert.Equal(entry.File.StartsWith("shards/", StringComparison.Ordinal) ? "float32" : "float16", parquet.CustomMetadata[CompactSchema.PrecisionKey]);
        }
        Assert.True((await DatasetValidator.ValidateAsync(tmp.Path)).IsValid);
    }

    [Fact]
    public async Task An_upgrade_killed_after_its_manifest_swap_deletes_the_old_files_on_the_next_run()
    {
        using var tmp = new TempDir();
        await WriteNestedAsync(tmp.Path);
        string source = DatasetWriter.Resolve(tmp.Path, DatasetReader.Open(tmp.Path).Manifest.Shards[0].File);
        byte[] old = await File.ReadAllBytesAsync(source);
        await DatasetUpgrade.UpgradeAsync(tmp.Path);
        await File.WriteAllBytesAsync(source, old); // as if the run died before deleting it

        Assert.Equal(0, (await DatasetUpgrade.UpgradeAsync(tmp.Path)).Upgraded);

        Assert.False(File.Exists(source));
        Assert.True((await DatasetValidator.ValidateAsync(tmp.Path)).IsValid);
    }

    [Fact]
    public async Task Upgrade_refuses_a_dataset_that_a_writer_is_writing()
    {
        using var tmp = new TempDir();
        await WriteNestedAsync(tmp.Path);
        await using var writer = await DatasetWriter.OpenAsync(tmp.Path);

        var e = await Assert.ThrowsAsync<DistillException>(() => DatasetUpgrade.UpgradeAsync(tmp.Path));
        Assert.Contains("is being written", e.Message);
    }
}
