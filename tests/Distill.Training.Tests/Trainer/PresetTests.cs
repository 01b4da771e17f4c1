using Distill.Training.Config;

namespace Distill.Training.Tests.Trainer;

public class PresetTests
{
    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Platform.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("repository root not found");
    }

    [Fact]
    public void Shipped_presets_parse_and_only_miss_the_files_a_previous_stage_makes()
    {
        var presets = Directory.GetFiles(Path.Combine(RepoRoot(), "configs", "train"), "*.json");
        Assert.True(presets.Length >= 4);
        foreach (var path in presets)
        {
            var config = TrainConfig.Load(path);
            // Only path problems are allowed here: the datasets and runs come from earlier stages.
            Assert.All(config.Problems(), p => Assert.Matches("does not exist|not a model folder", p.Message));
        }
    }
}
