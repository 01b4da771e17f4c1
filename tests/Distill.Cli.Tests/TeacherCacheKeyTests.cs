using Distill.Cli.Commands;
using Distill.Data;
using Distill.Data.Synthetic;
using Distill.Training.Config;

namespace Distill.Cli.Tests;

/// <summary>The quickstart's teacher cache key: a changed recipe trains anew, a setting SFT never reads does not.</summary>
public sealed class TeacherCacheKeyTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("distill-teacher-key-").FullName;
    private string Demonstrations => Path.Combine(_folder, "demos");

    public async Task InitializeAsync()
    {
        await using var writer = await DatasetWriter.OpenAsync(Demonstrations, new DatasetWriterOptions { ShardRows = 4 });
        foreach (var sample in SyntheticSamples.ToolTraces(6, seed: 5, logprobsTopK: 0))
        {
            await writer.AppendAsync(sample);
        }
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_folder, recursive: true);
        return Task.CompletedTask;
    }

    private static TrainConfig Teacher => QuickstartTrainConfigs.Teacher(QuickstartPlan.Full, "cpu");

    [Fact]
    public async Task Distillation_settings_an_sft_teacher_never_reads_leave_its_key_alone()
    {
        var key = await QuickstartCommand.TeacherCacheKeyAsync(Teacher, Demonstrations, CancellationToken.None);
        var otherChunks = Teacher with { Loss = Teacher.Loss with { Chunks = 4, TopK = 5 } };

        Assert.Equal(key, await QuickstartCommand.TeacherCacheKeyAsync(otherChunks, Demonstrations, CancellationToken.None));
    }

    [Theory]
    [InlineData("auto")]
    [InlineData("cuda")]
    [InlineData("cuda:1")]
    public async Task The_device_a_teacher_trains_on_is_not_part_of_its_recipe(string device)
    {
        // The shipped teacher's key was computed with "auto": a user who sets Device explicitly must still get it.
        var key = await QuickstartCommand.TeacherCacheKeyAsync(Teacher, Demonstrations, CancellationToken.None);

        Assert.Equal(key, await QuickstartCommand.TeacherCacheKeyAsync(Teacher with { Device = device }, Demonstrations, CancellationToken.None));
    }

    [Fact]
    public void Settings_that_are_off_hash_as_if_absent_so_a_new_off_by_default_option_keeps_old_keys()
    {
        var config = System.Text.Json.Nodes.JsonNode.Parse("""{"a": 0, "b": false, "c": null, "d": {"e": 0.0, "f": 2, "g": true}, "h": [0, 1], "i": "x"}""")!;

        Assert.Equal("""{"d":{"f":2,"g":true},"h":[0,1],"i":"x"}""", QuickstartCommand.WithoutOffSettings(config).ToJsonString());
    }

    [Fact]
    public async Task A_changed_recipe_or_other_demonstrations_change_the_key()
    {
        var key = await QuickstartCommand.TeacherCacheKeyAsync(Teacher, Demonstrations, CancellationToken.None);
        var moreSteps = Teacher with { Steps = Teacher.Steps + 1 };
        var logitKd = Teacher with { Loss = QuickstartTrainConfigs.TopKKd };
        var verifiedOnly = Teacher with { Data = Teacher.Data with { VerifiedOnly = true } };
        var otherPromptWeight = Teacher with { Loss = Teacher.Loss with { PromptWeight = Teacher.Loss.PromptWeight + 0.05 } }; // SFT reads it
        await using (var writer = await DatasetWriter.OpenAsync(Demonstrations, new DatasetWriterOptions { ShardRows = 4 }))
        {
            await writer.AppendAsync(SyntheticSamples.ToolTraces(7, seed: 5, logprobsTopK: 0).Last() with { Id = "one-more" });
        }

        Assert.NotEqual(key, await QuickstartCommand.TeacherCacheKeyAsync(moreSteps, Demonstrations, CancellationToken.None));
        Assert.NotEqual(key, await QuickstartCommand.TeacherCacheKeyAsync(logitKd, Demonstrations, CancellationToken.None));
        Assert.NotEqual(key, await QuickstartCommand.TeacherCacheKeyAsync(verifiedOnly, Demonstrations, CancellationToken.None));
        Assert.NotEqual(key, await QuickstartCommand.TeacherCacheKeyAsync(otherPromptWeight, Demonstrations, CancellationToken.None));
        Assert.NotEqual(key, await QuickstartCommand.TeacherCacheKeyAsync(Teacher, Demonstrations, CancellationToken.None));
    }
}
