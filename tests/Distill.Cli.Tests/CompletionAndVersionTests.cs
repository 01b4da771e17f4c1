using Distill.Cli.Commands;

namespace Distill.Cli.Tests;

public sealed class CompletionAndVersionTests
{
    [Fact]
    public async Task Version_prints_the_build_version_with_the_git_commit()
    {
        var result = await CliRun.RunAsync("--version");

        Assert.Equal(DistillApp.Success, result.ExitCode);
        // 0.1.0 from Directory.Build.props, then the commit the SDK reads from git (builds here always come from a clone).
        Assert.Matches(@"^\d+\.\d+\.\d+(-[\w.]+)?\+[0-9a-f]{40}$", result.Output.Trim());
    }

    [Fact]
    public async Task Suggest_directive_completes_a_partial_subcommand()
    {
        const string line = "distill tr";

        var result = await CliRun.RunAsync($"[suggest:{line.Length}]", line);

        Assert.Equal(DistillApp.Success, result.ExitCode);
        var suggestions = Lines(result.Output);
        Assert.Contains("train", suggestions);
        Assert.DoesNotContain("doctor", suggestions);
    }

    [Fact]
    public async Task Suggest_directive_lists_subcommands_after_the_program_name()
    {
        const string line = "distill ";

        var result = await CliRun.RunAsync($"[suggest:{line.Length}]", line);

        var suggestions = Lines(result.Output);
        Assert.Contains("doctor", suggestions);
        Assert.Contains("completion", suggestions);
        Assert.Contains("--version", suggestions);
    }

    [Fact]
    public async Task Suggest_directive_completes_a_nested_subcommand()
    {
        const string line = "distill dataset v";

        var result = await CliRun.RunAsync($"[suggest:{line.Length}]", line);

        var suggestions = Lines(result.Output);
        Assert.Contains("validate", suggestions);
        Assert.DoesNotContain("inspect", suggestions);
        Assert.DoesNotContain("train", suggestions);
    }

    [Theory]
    [InlineData("bash", "complete -o default -F _distill_complete distill")]
    [InlineData("zsh", "compdef _distill distill")]
    public async Task Completion_prints_a_script_that_registers_distill_and_asks_the_suggest_directive(string shell, string registration)
    {
        var result = await CliRun.RunAsync("completion", shell);

        Assert.Equal(DistillApp.Success, result.ExitCode);
        Assert.Equal(CompletionCommand.Script(shell), result.Output);
        Assert.Contains(registration, result.Output);
        Assert.Contains("distill \"[suggest:", result.Output);
    }

    [Fact]
    public async Task Completion_for_an_unknown_shell_is_a_user_error()
    {
        var result = await CliRun.RunAsync("completion", "fish");

        Assert.Equal(DistillApp.UserError, result.ExitCode);
    }

    private static string[] Lines(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
