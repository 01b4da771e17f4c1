using System.Text.Json.Nodes;
using Distill.Core.Errors;
using Parquet.Serialization;

namespace Distill.Data.Tests;

/// <summary>Every bad input is a DistillException whose message names the file.</summary>
public class BadInputTests
{
    private static async Task<string> WriteShardAsync(TempDir tmp, int count = 5)
    {
        string dir = tmp.Combine("ds");
        await using (var writer = await DatasetWriter.OpenAsync(dir))
            foreach (var s in Samples.ToolTraces(count)) await writer.AppendAsync(s);
        return dir;
    }

    private static async Task<DistillException> ReadFileFails(string path)
    {
        var e = await Assert.ThrowsAsync<DistillException>(() => DatasetReader.ReadFileAsync(path).ToListAsync());
        Assert.Contains(path, e.Message);
        Assert.NotNull(e.Hint);
        return e;
    }

    [Fact]
    public async Task Truncated_parquet_file_names_the_file()
    {
        using var tmp = new TempDir();
        string dir = await WriteShardAsync(tmp);
        string loose = tmp.Combine("truncated.parquet");
        byte[] bytes = await File.ReadAllBytesAsync(Path.Combine(dir, "shards", "part-00000.parquet"));
        await File.WriteAllBytesAsync(loose, bytes[..(bytes.Length / 2)]);

        await ReadFileFails(loose);
    }

    [Fact]
    public async Task Truncated_shard_in_a_dataset_is_refused_on_open_naming_the_file()
    {
        using var tmp = new TempDir();
        string dir = await WriteShardAsync(tmp);
        string shard = Path.Combine(dir, "shards", "part-00000.parquet");
        await using (var fs = new FileStream(shard, FileMode.Open)) fs.SetLength(fs.Length - 100);

        var e = Assert.Throws<DistillException>(() => DatasetReader.Open(dir));
        Assert.Contains(shard, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public async Task Random_bytes_named_parquet_name_the_file()
    {
        using var tmp = new TempDir();
        string path = tmp.Combine("random.parquet");
        var bytes = new byte[4096];
        new Random(7).NextBytes(bytes);
        await File.WriteAllBytesAsync(path, bytes);

        var e = await ReadFileFails(path);
        Assert.Contains("not Parquet", e.Message);
    }

    public sealed class OtherRow
    {
        public string? Question { get; set; }
        public int Label { get; set; }
    }

    [Fact]
    public async Task Parquet_with_a_different_schema_names_the_file_and_the_missing_columns()
    {
        using var tmp = new TempDir();
        string path = tmp.Combine("other.parquet");
        await ParquetSerializer.SerializeAsync(new[] { new OtherRow { Question = "q", Label = 1 } }, path);

        var e = await ReadFileFails(path);
        Assert.Contains("'id'", e.Message);
        Assert.Contains("'messages", e.Message);
    }

    [Fact]
    public void Missing_manifest_names_the_file()
    {
        using var tmp = new TempDir();
        var e = Assert.Throws<DistillException>(() => DatasetReader.Open(tmp.Path));
        Assert.Contains(Path.Combine(tmp.Path, "manifest.json"), e.Message);
    }

    [Fact]
    public async Task Manifest_naming_a_missing_shard_names_the_shard()
    {
        using var tmp = new TempDir();
        string dir = await WriteShardAsync(tmp);
        string shard = Path.Combine(dir, "shards", "part-00000.parquet");
        File.Delete(shard);

        var e = Assert.Throws<DistillException>(() => DatasetReader.Open(dir));
        Assert.Contains(shard, e.Message);
        Assert.Contains("missing", e.Message);
    }

    [Theory]
    [InlineData("{ \"schema_version\": 1, \"shards\": [ {\"file\": ")]
    [InlineData("not json at all")]
    [InlineData("null")]
    [InlineData("{\"schema_version\": 1, \"shards\": [{\"file\": \"../../etc/passwd\", \"rows\": 1, \"bytes\": 1, \"sha256\": \"x\", \"by_kind\": {}}], \"rejects\": []}")]
    public async Task Corrupt_manifest_names_the_manifest(string text)
    {
        using var tmp = new TempDir();
        string dir = await WriteShardAsync(tmp);
        string manifest = Path.Combine(dir, "manifest.json");
        await File.WriteAllTextAsync(manifest, text);

        var e = Assert.Throws<DistillException>(() => DatasetReader.Open(dir));
        Assert.Contains(manifest, e.Message);
        var writerError = await Assert.ThrowsAsync<DistillException>(() => DatasetWriter.OpenAsync(dir));
        Assert.Contains(manifest, writerError.Message);
    }

    [Fact]
    public async Task Manifest_from_another_schema_version_is_refused()
    {
        using var tmp = new TempDir();
        string dir = await WriteShardAsync(tmp);
        string manifest = Path.Combine(dir, "manifest.json");
        var json = JsonNode.Parse(await File.ReadAllTextAsync(manifest))!;
        json["schema_version"] = 99;
        await File.WriteAllTextAsync(manifest, json.ToJsonString());

        var e = Assert.Throws<DistillException>(() => DatasetReader.Open(dir));
        Assert.Contains("99", e.Message);
        Assert.Contains(manifest, e.Message);
    }
}
