using Distill.Cli.Commands;
using Distill.Core.Configuration;
using Distill.Core.Errors;
using Spectre.Console;

namespace Distill.Cli.Tests;

public sealed class SideBySideTrainingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("distill-side-by-side-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Each_process_gets_an_equal_share_of_the_cores_and_at_least_one()
    {
        Assert.Equal(Math.Max(1, Environment.ProcessorCount / 3), SideBySideTraining.ThreadsEach(3));
        Assert.Equal(1, SideBySideTraining.ThreadsEach(Environment.ProcessorCount + 1));
        Assert.Equal(Environment.ProcessorCount, SideBySideTraining.ThreadsEach(1));
    }

    [Fact]
    public async Task A_run_that_fails_is_named_with_its_own_error_line_and_its_log_kept()
    {
        // A real `distill train` process: the config is refused at start-up, as a typo in a user's config would be.
        var config = Path.Combine(_dir, "bad.json");
        await File.WriteAllTextAsync(config, """{"steps": 0, "datasets": ["nowhere"], "out": "out"}""");
        var output = new StringWriter();
        var cli = new CliContext(AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Interactive = InteractionSupport.No }),
            TextWriter.Null, verbose: false, new ConfigurationRequest());

        var error = await Assert.ThrowsAsync<DistillException>(() => SideBySideTraining.RunAsync(cli, [("student-bad", config, 10)], Path.Combine(_dir, "logs"), CancellationToken.None));

        Assert.Contains("training student-bad failed (exit code 1): error: Invalid train config", error.Message, StringComparison.Ordinal);
        Assert.Contains("steps", error.Message, StringComparison.Ordinal);
        Assert.Contains("steps", await File.ReadAllTextAsync(Path.Combine(_dir, "logs", "student-bad.log")), StringComparison.Ordinal);
        Assert.Contains("$ distill train", output.ToString(), StringComparison.Ordinal);
    }
}
