using System.Text.Json.Nodes;
using Distill.Data.Lineage;
using Distill.Training.Config;
using Distill.Training.Trainer;
using Microsoft.Extensions.Logging.Abstractions;

namespace Distill.Training.Tests.Trainer;

[Collection(TrainingCollection.Name)]
public class LineageTests(TrainingFixture fx)
{
    [Fact]
    public async Task A_run_records_the_template_versions_and_shards_its_examples_came_from()
    {
        var data = fx.NewDir("lineage-data");
        TrainingFixture.WriteDataset(data, fx.Samples.Select((s, i) => s with { TemplateId = "agent", TemplateVersion = i % 3 == 0 ? "aaa" : "bbb" }));
        var run = fx.NewDir("lineage-run");

        await TrainerHost.RunAsync(TrainConfig.Load(fx.WriteConfig(run, o => { o["datasets"] = new JsonArray(data); o["steps"] = 2; o["eval"] = new JsonObject { ["every"] = 0, ["batches"] = 1 }; })),
            NullLogger.Instance);

        var lineage = RunLineage.TryLoad(run);
        Assert.NotNull(lineage);
        var total = fx.Samples.Count;
        Assert.Equal(["agent@bbb", "agent@aaa"], lineage.Templates.Select(t => t.Key));
        Assert.Equal(total, lineage.Templates.Sum(t => t.Samples));
        Assert.Equal((total + 2) / 3, lineage.Templates.Single(t => t.Version == "aaa").Samples);
        Assert.Equal(Distill.Data.DatasetManifest.Load(data).Shards.Select(s => s.Sha256), lineage.Datasets.Single().Shards.Select(s => s.Sha256));
        Assert.NotNull(lineage.BaseModel);
        Assert.Contains("agent@bbb", File.ReadAllText(Path.Combine(run, "report.md")));
    }
}
