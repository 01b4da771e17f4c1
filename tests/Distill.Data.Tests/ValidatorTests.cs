using System.Text.Json.Nodes;
using Distill.Core.Samples;

namespace Distill.Data.Tests;

public class ValidatorTests
{
    [Fact]
    public async Task A_healthy_dataset_validates_clean()
    {
        using var tmp = new TempDir();
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path, new DatasetWriterOptions { ShardRows = 4 }))
        {
            foreach (var s in Samples.ToolTraces(9)) await writer.AppendAsync(s);
            await writer.RejectAsync(new(Samples.Sparse("r1"), "too_long"));
        }

        var report = await DatasetValidator.ValidateAsync(tmp.Path);
        Assert.Empty(report.Problems);
        Assert.True(report.IsValid);
        Assert.Equal(4, report.FilesChecked);
        Assert.Equal(10, report.RowsChecked);
    }

    [Fact]
    public async Task Validate_reports_every_problem_at_once()
    {
        using var tmp = new TempDir();
        string dir = tmp.Combine("ds");
        var good = Samples.ToolTraces(3);
        await using (var writer = await DatasetWriter.OpenAsync(dir))
            foreach (var s in good) await writer.AppendAsync(s);

        // A second shard, written elsewhere and added to the manifest by hand: it repeats an id, has invalid tool
        // arguments, an unknown role, an unknown kind and a tool result answering no call.
        string other = tmp.Combine("other");
        var bad = good[1] with { Messages = [.. good[1].Messages] };
        var broken = Samples.ToolTraces(4)[3] with
        {
            Kind = "poem",
            Messages =
            [
                ChatMessage.User("hi"),
                ChatMessage.Assistant(null, [new ToolCall("c1", "lookup_order", "{\"order_id\": \"A1\"")]),
                new ChatMessage { Role = "robot", Content = "beep" },
                ChatMessage.Tool("c9", "lookup_order", "{}"),
            ],
        };
        await using (var writer = await DatasetWriter.OpenAsync(other))
        {
            await writer.AppendAsync(bad);
            await writer.AppendAsync(broken);
        }
        File.Copy(Path.Combine(other, "shards", "part-00000.parquet"), Path.Combine(dir, "shards", "part-00001.parquet"));
        var otherEntry = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(other, "manifest.json")))!["shards"]![0]!.DeepClone();
        otherEntry["file"] = "shards/part-00001.parquet";
        string manifestPath = Path.Combine(dir, "manifest.json");
        var manifest = JsonNode.Parse(await File.ReadAllTextAsync(manifestPath))!;
        manifest["shards"]![0]!["sha256"] = new string('0', 64); // checksum mismatch on the first shard
        manifest["shards"]!.AsArray().Add(otherEntry);
        manifest["shards"]!.AsArray().Add(JsonNode.Parse("""{"file":"shards/part-00009.parquet","rows":1,"bytes":1,"sha256":"x","by_kind":{}}"""));
        await File.WriteAllTextAsync(manifestPath, manifest.ToJsonString());
        await File.WriteAllTextAsync(Path.Combine(dir, "shards", "stray.parquet"), "junk");

        var report = await DatasetValidator.ValidateAsync(dir);

        string first = Path.Combine(dir, "shards", "part-00000.parquet");
        string second = Path.Combine(dir, "shards", "part-00001.parquet");
        Assert.False(report.IsValid);
        Assert.Contains(report.Problems, p => p.File == first && p.Message.Contains("SHA-256"));
        Assert.Contains(report.Problems, p => p.File == second && p.SampleId == bad.Id && p.Message.Contains("duplicate id") && p.Message.Contains("part-00000"));
        Assert.Contains(report.Problems, p => p.File == second && p.SampleId == broken.Id && p.Message.Contains("not valid JSON"));
        Assert.Contains(report.Problems, p => p.File == second && p.Message.Contains("unknown role 'robot'"));
        Assert.Contains(report.Problems, p => p.File == second && p.Message.Contains("unknown kind 'poem'"));
        Assert.Contains(report.Problems, p => p.File == second && p.Message.Contains("tool call 'c9'"));
        Assert.Contains(report.Problems, p => p.File.EndsWith("part-00009.parquet") && p.Message.Contains("missing"));
        Assert.Contains(report.Problems, p => p.File.EndsWith("stray.parquet") && p.Severity == ProblemSeverity.Warning);
        Assert.Equal(7, report.ErrorCount);
    }

    [Fact]
    public async Task Validate_reports_an_unreadable_manifest_as_a_problem()
    {
        using var tmp = new TempDir();
        await File.WriteAllTextAsync(tmp.Combine("manifest.json"), "{");

        var report = await DatasetValidator.ValidateAsync(tmp.Path);
        var problem = Assert.Single(report.Problems);
        Assert.Equal(tmp.Combine("manifest.json"), problem.File);
    }

    [Fact]
    public async Task Validate_reports_a_corrupt_shard_and_still_checks_the_others()
    {
        using var tmp = new TempDir();
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path, new DatasetWriterOptions { ShardRows = 2 }))
            foreach (var s in Samples.ToolTraces(4)) await writer.AppendAsync(s);
        string first = tmp.Combine("shards", "part-00000.parquet");
        long length = new FileInfo(first).Length;
        var junk = new byte[length];
        new Random(1).NextBytes(junk);
        await File.WriteAllBytesAsync(first, junk);

        var report = await DatasetValidator.ValidateAsync(tmp.Path);
        Assert.Contains(report.Problems, p => p.File == first && p.Message.Contains("not Parquet"));
        Assert.Equal(2, report.RowsChecked);
    }
}
