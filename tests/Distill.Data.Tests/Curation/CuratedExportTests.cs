using System.Security.Cryptography;
using System.Text.Json;
using Distill.Core.Errors;
using Distill.Core.Samples;
using Distill.Data.Curation;

namespace Distill.Data.Tests.Curation;

public class CuratedExportTests
{
    /// <summary>Five accepted samples (t0..t4) and two rejects (r0, r1).</summary>
    private static async Task<(string Dir, List<Sample> Accepted, List<Sample> Rejected)> DatasetAsync(TempDir tmp)
    {
        var all = Samples.ToolTraces(7);
        var accepted = all.Take(5).Select((s, i) => s with { Id = $"t{i}" }).ToList();
        var rejected = all.Skip(5).Select((s, i) => s with { Id = $"r{i}" }).ToList();
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path, new DatasetWriterOptions { ShardRows = 2 }))
        {
            foreach (var s in accepted) await writer.AppendAsync(s);
            foreach (var s in rejected) await writer.RejectAsync(new RejectedSample(s, "verifier_failed"));
        }
        return (tmp.Path, accepted, rejected);
    }

    private static Dictionary<string, string> Checksums(string dir) =>
        Directory.EnumerateFiles(dir, "*.parquet", SearchOption.AllDirectories).Append(Path.Combine(dir, DatasetSchema.ManifestFile))
            .ToDictionary(f => f, f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    [Fact]
    public async Task Curated_export_drops_rejected_rows_replaces_edited_ones_adds_accepted_rejects_and_never_touches_the_shards()
    {
        using var tmp = new TempDir();
        var (dir, accepted, _) = await DatasetAsync(tmp);
        var before = Checksums(dir);
        var edited = accepted[2].Messages.Take(accepted[2].Messages.Count - 1).Append(ChatMessage.Assistant("A curator's answer.")).ToArray();
        await CurationLog.AppendAsync(dir, CurationDecision.Reject("t1", "hallucinated tracking id"));
        await CurationLog.AppendAsync(dir, CurationDecision.Edit("t2", edited, answer: "A curator's answer."));
        await CurationLog.AppendAsync(dir, CurationDecision.Reject("t3", "too long"));
        await CurationLog.AppendAsync(dir, CurationDecision.Accept("t3"));
        await CurationLog.AppendAsync(dir, CurationDecision.Accept("r1"));

        var result = await DatasetExporter.ExportAsync(dir, tmp.Combine("out", "curated.jsonl"), ExportFormat.Jsonl, new ExportOptions { Curated = true });

        var rows = (await File.ReadAllLinesAsync(result.Path)).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["t0", "t2", "t3", "t4", "r1"], rows.Select(r => r.GetProperty("id").GetString()));
        var t2 = rows[1];
        Assert.Equal("A curator's answer.", t2.GetProperty("answer").GetString());
        Assert.Equal("A curator's answer.", t2.GetProperty("messages").EnumerateArray().Last().GetProperty("content").GetString());
        Assert.Equal(before, Checksums(dir));

        var plain = await DatasetExporter.ExportAsync(dir, tmp.Combine("out", "plain.jsonl"), ExportFormat.Jsonl);
        Assert.Equal(5, plain.Rows);
    }

    [Fact]
    public async Task Curated_parquet_export_reads_back_as_the_curated_samples()
    {
        using var tmp = new TempDir();
        var (dir, accepted, _) = await DatasetAsync(tmp);
        await CurationLog.AppendAsync(dir, CurationDecision.Reject("t0", "duplicate"));

        var result = await DatasetExporter.ExportAsync(dir, tmp.Combine("curated.parquet"), ExportFormat.Parquet, new ExportOptions { Curated = true });

        Samples.Equal(accepted.Skip(1), await DatasetReader.ReadFileAsync(result.Path).ToListAsync());
    }

    [Fact]
    public void An_edit_keeps_logprobs_only_on_turns_whose_text_is_unchanged()
    {
        var original = Samples.ToolTraces(1, topK: 2)[0];
        var last = original.Messages.Count - 1;
        Assert.NotEmpty(original.Messages[2].Logprobs);
        Assert.NotEmpty(original.Messages[last].Logprobs);
        var messages = original.Messages.Select((m, i) => i == last ? m with { Content = "Rewritten by a curator." } : m with { Logprobs = [] }).ToArray();

        var edited = CuratedView.Edited(original, CurationDecision.Edit(original.Id, messages));

        Assert.Equal(original.Messages[2].Logprobs, edited.Messages[2].Logprobs);
        Assert.Equal("Rewritten by a curator.", edited.Messages[last].Content);
        Assert.Empty(edited.Messages[last].Logprobs);
        Assert.Null(edited.Messages[last].LogprobProvenance);
        Assert.Equal(original.Answer, edited.Answer);
        Assert.Equal(original.Id, edited.Id);
    }

    [Fact]
    public void Undecided_samples_keep_the_pipelines_verdict()
    {
        var sample = Samples.Sparse("x");
        Assert.Same(sample, CuratedView.ApplyToAccepted(sample, null));
        Assert.Null(CuratedView.ApplyToRejected(sample, null));
        Assert.Null(CuratedView.ApplyToRejected(sample, CurationDecision.Reject("x", "still bad")));
        Assert.Same(sample, CuratedView.ApplyToRejected(sample, CurationDecision.Accept("x")));
    }

    [Fact]
    public async Task Curated_export_of_a_loose_parquet_file_says_to_use_the_folder()
    {
        using var tmp = new TempDir();
        var (dir, _, _) = await DatasetAsync(tmp);
        var loose = Directory.EnumerateFiles(Path.Combine(dir, "shards"), "*.parquet").First();

        var error = await Assert.ThrowsAsync<DistillException>(() =>
            DatasetExporter.ExportAsync(loose, tmp.Combine("x.jsonl"), ExportFormat.Jsonl, new ExportOptions { Curated = true }));
        Assert.Contains("dataset folder", error.Message, StringComparison.Ordinal);
    }
}
