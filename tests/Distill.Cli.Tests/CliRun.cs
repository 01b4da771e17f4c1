using Spectre.Console;

namespace Distill.Cli.Tests;

/// <summary>Runs the `distill` command in-process and captures what a user would see.</summary>
public sealed record CliResult(int ExitCode, string Output, string Error);

public static class CliRun
{
    public static async Task<CliResult> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Out = new AnsiConsoleOutput(output),
            Interactive = InteractionSupport.No,
        });
        console.Profile.Width = 400;
        var exitCode = await DistillApp.RunAsync(args, console, error);
        return new CliResult(exitCode, output.ToString(), error.ToString());
    }
}
