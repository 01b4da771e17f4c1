using Distill.Core.Errors;
using Distill.Core.Samples;
using Distill.Data.Lineage;

namespace Distill.Data.Tests.Lineage;

public class RunLineageTests
{
    private static Sample Row(string id, string? template, string? version, bool? verified = true) => new()
    {
        Id = id,
        Kind = SampleKinds.Instruction,
        Messages = [ChatMessage.User("q " + id), ChatMessage.Assistant("a " + id)],
        TemplateId = template,
        TemplateVersion = version,
        Verified = verified,
    };

    [Fact]
    public void Samples_are_counted_per_dataset_and_per_template_version_most_used_first()
    {
        var used = new (string, Sample)[]
        {
            ("A", Row("1", "t", "v1")), ("A", Row("2", "t", "v2")), ("A", Row("3", "t", "v1")),
            ("B", Row("4", "u", "v1")), ("B", Row("5", null, null)),
        };
        var lineage = RunLineage.FromSamples(used, d => [new LineageShard($"{d}.parquet", "sha-" + d, 9)]);

        Assert.Equal(["A", "B"], lineage.Datasets.Select(d => d.Path));
        Assert.Equal([3L, 2L], lineage.Datasets.Select(d => d.SamplesUsed));
        Assert.Equal("sha-B", lineage.Datasets[1].Shards[0].Sha256);
        // t@v1 has 2; t@v2 and u@v1 tie at 1 and sort by id; the sample without a template is not listed.
        Assert.Equal(["t@v1", "t@v2", "u@v1"], lineage.Templates.Select(t => t.Key));
        Assert.Equal([2L, 1L, 1L], lineage.Templates.Select(t => t.Samples));
    }

    [Fact]
    public async Task Collect_reads_like_training_and_records_the_manifest_shards()
    {
        using var tmp = new TempDir();
        var dir = tmp.Combine("data");
        await using (var writer = await DatasetWriter.OpenAsync(dir, new DatasetWriterOptions { ShardRows = 2 }))
        {
            await writer.AppendAsync(Row("1", "t", "v1"));
            await writer.AppendAsync(Row("2", "t", "v1", verified: false));
            await writer.AppendAsync(Row("3", "t", "v2"));
            await writer.AppendAsync(Row("4", "t", "v2"));
        }

        var lineage = await RunLineage.CollectAsync([dir], maxSamples: 2, verifiedOnly: true, baseModel: null);

        // verified_only skips row 2; max_samples stops after rows 1 and 3.
        Assert.Equal(["t@v1", "t@v2"], lineage.Templates.Select(t => t.Key));
        Assert.All(lineage.Templates, t => Assert.Equal(1L, t.Samples));
        var manifest = DatasetManifest.Load(dir);
        Assert.Equal(manifest.Shards.Select(s => s.Sha256), lineage.Datasets.Single().Shards.Select(s => s.Sha256));
        Assert.Equal(2L, lineage.Datasets.Single().SamplesUsed);
        Assert.Null(lineage.Base);
    }

    [Fact]
    public async Task Collect_with_curation_counts_the_curated_samples_and_records_the_curation_file()
    {
        using var tmp = new TempDir();
        var dir = tmp.Combine("data");
        await using (var writer = await DatasetWriter.OpenAsync(dir))
        {
            await writer.AppendAsync(Row("1", "t", "v1"));
            await writer.AppendAsync(Row("2", "t", "v2"));
            await writer.RejectAsync(new RejectedSample(Row("3", "t", "v2"), "verifier_failed"));
        }
        await Distill.Data.Curation.CurationLog.AppendAsync(dir, Distill.Data.Curation.CurationDecision.Reject("1", "wrong"));
        await Distill.Data.Curation.CurationLog.AppendAsync(dir, Distill.Data.Curation.CurationDecision.Accept("3"));

        var plain = await RunLineage.CollectAsync([dir], 0, verifiedOnly: false, baseModel: null);
        var curated = await RunLineage.CollectAsync([dir], 0, verifiedOnly: false, baseModel: null, curated: true);

        Assert.Null(plain.Datasets.Single().Curation);
        Assert.Equal(["t@v1", "t@v2"], plain.Templates.Select(t => t.Key));
        Assert.Equal(["t@v2"], curated.Templates.Select(t => t.Key));
        Assert.Equal(2L, curated.Templates.Single().Samples);
        var curation = curated.Datasets.Single().Curation!;
        Assert.Equal(2, curation.Decisions);
        Assert.Equal(64, curation.Sha256!.Length);
    }

    [Fact]
    public void A_lora_runs_merged_model_finds_its_run_lineage_with_the_base_runs_nested()
    {
        using var tmp = new TempDir();
        var baseRun = tmp.Combine("student-kd");
        var loraRun = tmp.Combine("student-lora");
        Directory.CreateDirectory(baseRun);
        Directory.CreateDirectory(Path.Combine(loraRun, RunLineage.MergedFolder));
        new RunLineage { Datasets = [], Templates = [new LineageTemplate("t", "v1", 10), new LineageTemplate("t", "v2", 4)] }.Write(baseRun);
        new RunLineage { Datasets = [], Templates = [new LineageTemplate("t", "v2", 3)], BaseModel = baseRun, Base = RunLineage.FindForModel(baseRun) }.Write(loraRun);

        var found = RunLineage.FindForModel(Path.Combine(loraRun, RunLineage.MergedFolder));

        Assert.NotNull(found);
        Assert.Equal(baseRun, found.BaseModel);
        Assert.Equal(["t@v1", "t@v2"], found.AllTemplates.Select(t => t.Key));
        Assert.Equal([10L, 7L], found.AllTemplates.Select(t => t.Samples));
        Assert.Null(RunLineage.FindForModel(tmp.Path));
    }

    [Fact]
    public void A_lineage_file_edited_into_nonsense_is_a_clear_error()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp.Combine(RunLineage.FileName), "{ not json");
        var e = Assert.Throws<DistillException>(() => RunLineage.TryLoad(tmp.Path));
        Assert.Contains("lineage.json", e.Message);
    }
}
