using Distill.Data.Curation;
using Distill.Data.Lineage;
using Distill.Training.Config;
using Distill.Training.Trainer;
using Microsoft.Extensions.Logging.Abstractions;

namespace Distill.Training.Tests.Trainer;

/// <summary>`data.curated` in a train config reaches the run: a curator's reject leaves training and the lineage says so.</summary>
[Collection(TrainingCollection.Name)]
public class CuratedRunTests(TrainingFixture fx)
{
    [Fact]
    public async Task A_curated_run_leaves_out_rejected_samples_and_records_the_curation_file()
    {
        var dataset = fx.NewDir("curated-data");
        foreach (var file in Directory.EnumerateFiles(fx.DatasetDir, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(dataset, Path.GetRelativePath(fx.DatasetDir, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        await CurationLog.AppendAsync(dataset, CurationDecision.Reject(fx.Samples[0].Id, "wrong order id"));

        async Task<RunLineage> Train(bool curated)
        {
            var run = fx.NewDir(curated ? "curated-run" : "plain-run");
            await TrainerHost.RunAsync(TrainConfig.Load(fx.WriteConfig(run, o =>
            {
                o["steps"] = 1;
                o["datasets"] = new System.Text.Json.Nodes.JsonArray(dataset);
                o["data"]!["curated"] = curated;
            })), NullLogger.Instance);
            return RunLineage.TryLoad(run)!;
        }

        var plain = await Train(curated: false);
        var curated = await Train(curated: true);

        Assert.Null(plain.Datasets[0].Curation);
        Assert.Equal(1, curated.Datasets[0].Curation!.Decisions);
        Assert.Equal(plain.Datasets[0].SamplesUsed - 1, curated.Datasets[0].SamplesUsed);
    }
}
