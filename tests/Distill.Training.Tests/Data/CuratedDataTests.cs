using Distill.Core.Samples;
using Distill.Data.Curation;
using Distill.Training.Data;

namespace Distill.Training.Tests.Data;

[Collection(TrainingCollection.Name)]
public class CuratedDataTests(TrainingFixture fx)
{
    private SampleEncoder Encoder() => new(fx.Tokenizer, 4096, 0);

    [Fact]
    public async Task Curated_training_data_leaves_out_curator_rejects_and_trains_on_edits()
    {
        var dir = fx.NewDir("curated");
        var samples = fx.Samples.Take(6).ToList();
        TrainingFixture.WriteDataset(dir, samples);
        await CurationLog.AppendAsync(dir, CurationDecision.Reject(samples[0].Id, "wrong answer"));
        await CurationLog.AppendAsync(dir, CurationDecision.Reject(samples[1].Id, "off topic"));
        var edited = samples[2].Messages.Take(samples[2].Messages.Count - 1).Append(ChatMessage.Assistant("ok")).ToArray();
        await CurationLog.AppendAsync(dir, CurationDecision.Edit(samples[2].Id, edited));

        var all = await TrainingData.LoadAsync([dir], Encoder(), 0);
        var curated = await TrainingData.LoadAsync([dir], Encoder(), 0, curated: true);

        Assert.Equal(6, all.Statistics.Samples);
        Assert.Equal(4, curated.Statistics.Samples);
        Assert.DoesNotContain(curated.Train, e => e.Id == samples[0].Id || e.Id == samples[1].Id);
        // The edit replaced the final turn with a two-letter answer: fewer labelled tokens than the teacher's turn had.
        long Labels(TrainingData d) => d.Train.Where(e => e.Id == samples[2].Id).Sum(e => (long)e.LabelCount);
        Assert.True(Labels(curated) < Labels(all), $"{Labels(curated)} labelled tokens after the edit, {Labels(all)} before");
    }

    [Fact]
    public void Data_curated_binds_from_the_config_file()
    {
        var path = fx.WriteConfig(fx.NewDir("run"), o => o["data"]!["curated"] = true);
        Assert.True(TrainingFixture.Load(path).Data.Curated);
        Assert.False(TrainingFixture.Load(fx.WriteConfig(fx.NewDir("run"))).Data.Curated);
    }
}
