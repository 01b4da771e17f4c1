namespace Distill.Cli.Tests;

/// <summary>`distill world check`: held-out material in training data is found and fails the command; clean data passes.</summary>
public sealed class WorldCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("distill-world-check-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<string> Demonstrations(string tasks, string name)
    {
        var output = Path.Combine(_dir, name);
        var result = await CliRun.RunAsync("--set", $"Paths:Prompts={RepoPaths.Prompts}", "--set", $"Paths:Cache={Path.Combine(_dir, "cache")}",
            "generate", "--recipe", "tool_trace", "--template", "world-agent", "--teacher", "world-scripted", "--tasks", tasks, "--count", "20", "--out", output);
        Assert.True(result.ExitCode == 0, result.Error);
        return output;
    }

    [Fact]
    public async Task Train_demonstrations_have_no_leaks()
    {
        var train = await Demonstrations("world:train", "train");
        var result = await CliRun.RunAsync("world", "check", "--data", train);
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("no leaks", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Held_out_tasks_in_a_training_dataset_fail_the_check_with_one_line()
    {
        var leaky = await Demonstrations("world:heldout", "leaky");
        var result = await CliRun.RunAsync("world", "check", "--data", leaky);
        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("held-out material found in", line, StringComparison.Ordinal);
        Assert.Contains("regenerate those from world:train", line, StringComparison.Ordinal);
    }
}
