namespace Distill.Cli.Tests;

public sealed class CliBehaviourTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("distill-cli-").FullName;

    private string Settings(string json)
    {
        var path = Path.Combine(_folder, "appsettings.json");
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public async Task Help_is_available_on_every_command()
    {
        var root = DistillApp.BuildRootCommand(_ => throw new InvalidOperationException("help must not build a context"));
        var paths = new List<string[]>();
        void Walk(System.CommandLine.Command command, string[] prefix)
        {
            foreach (var sub in command.Subcommands)
            {
                var path = prefix.Append(sub.Name).ToArray();
                paths.Add(path);
                Walk(sub, path);
            }
        }
        Walk(root, []);
        Assert.NotEmpty(paths);

        foreach (var path in paths.Prepend([]))
        {
            var result = await CliRun.RunAsync([.. path, "--help"]);
            Assert.True(result.ExitCode == 0, $"`{string.Join(' ', path)} --help` exited {result.ExitCode}: {result.Error}");
            Assert.Contains("Usage:", result.Output);
        }
    }

    [Fact]
    public async Task Unknown_command_is_a_user_error()
    {
        var result = await CliRun.RunAsync("frobnicate");

        Assert.Equal(DistillApp.UserError, result.ExitCode);
    }

    [Fact]
    public async Task Bad_setting_gets_one_line_naming_key_and_file_and_exit_1()
    {
        var settings = Settings("""{ "Paths": { "Runz": "x" } }""");

        var result = await CliRun.RunAsync("doctor", "--config", settings);

        Assert.Equal(DistillApp.UserError, result.ExitCode);
        Assert.Contains("Paths:Runz", result.Output);
        Assert.Contains(settings, result.Output);
        Assert.DoesNotContain("   at ", result.Output + result.Error);
    }

    [Fact]
    public async Task Malformed_settings_file_gets_one_clear_line_without_stack_trace()
    {
        var settings = Settings("{ \"Paths\": ");

        var result = await CliRun.RunAsync("doctor", "--config", settings);

        Assert.Equal(DistillApp.UserError, result.ExitCode);
        Assert.Contains("not valid JSON", result.Output);
        Assert.DoesNotContain("   at ", result.Output + result.Error);
    }

    [Fact]
    public async Task Missing_settings_file_is_a_user_error_with_one_line()
    {
        var result = await CliRun.RunAsync("doctor", "--config", Path.Combine(_folder, "missing.json"));

        Assert.Equal(DistillApp.UserError, result.ExitCode);
        Assert.Contains("missing.json", result.Output);
    }

    [Fact]
    public async Task Doctor_shows_torchsharp_working_and_a_matmul_rate()
    {
        var settings = Settings("{}");

        var result = await CliRun.RunAsync("doctor", "--config", settings);

        Assert.True(result.ExitCode == 0, result.Output + result.Error);
        Assert.Matches(@"TorchSharp\s+│\s+ok", result.Output);
        Assert.Matches(@"\d+ GFLOP/s", result.Output);
        Assert.Matches(@"configuration\s+│\s+ok", result.Output);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
