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

    [Fact]
    public async Task A_changed_recipe_or_other_demonstrations_change_the_key()
    {
        var key = await QuickstartCommand.TeacherCacheKeyAsync(Teacher, Demonstrations, CancellationToken.None);
        var moreSteps = Teacher with { Steps = Teacher.Steps + 1 };
        var logitKd = Teacher with { Loss = QuickstartTrainConfigs.TopKKd };
        await using (var writer = await DatasetWriter.OpenAsync(Demonstrations, new DatasetWriterOptions { ShardRows = 4 }))
        {
            await writer.AppendAsync(SyntheticSamples.ToolTraces(7, seed: 5, logprobsTopK: 0).Last() with { Id = "one-more" });
        }

        Assert.NotEqual(key, await QuickstartCommand.TeacherCacheKeyAsync(moreSteps, Demonstrations, CancellationToken.None));
        Assert.NotEqual(key, await QuickstartCommand.TeacherCacheKeyAsync(logitKd, Demonstrations, CancellationToken.None));
        Assert.NotEqual(key, await QuickstartCommand.TeacherCacheKeyAsync(Teacher, Demonstrations, CancellationToken.None));
    }
}
