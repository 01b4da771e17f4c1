using System.Text.Json.Nodes;

namespace Distill.Cli.Tests;

/// <summary>`templates stats | diff | compare` on datasets generated from two versions of world-agent by a scripted teacher.</summary>
public sealed class TemplateCurationTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("distill-curation-cli-").FullName;
    private ScriptedTeacherServer _server = null!;
    private string _settings = null!;
    private string _prompts = null!;

    private string Datasets => Path.Combine(_dir, "datasets");

    public async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable(ScriptedTeacherServer.KeyEnv, ScriptedTeacherServer.Key);
        _server = await ScriptedTeacherServer.StartAsync(60);
        _prompts = Path.Combine(_dir, "prompts");
        Directory.CreateDirectory(_prompts);
        foreach (var file in Directory.GetFiles(RepoPaths.Prompts, "*.prompt")) File.Copy(file, Path.Combine(_prompts, Path.GetFileName(file)));
        var settings = new JsonObject
        {
            ["Paths"] = new JsonObject { ["Prompts"] = _prompts, ["Cache"] = Path.Combine(_dir, "cache"), ["Datasets"] = Datasets, ["Runs"] = Path.Combine(_dir, "runs") },
            ["Device"] = "cpu",
            ["Teachers"] = new JsonArray(new JsonObject
            {
                ["Name"] = "scripted",
                ["Provider"] = "openai-compatible",
                ["Endpoint"] = _server.Endpoint.ToString(),
                ["Model"] = "world-teacher",
                ["ApiKeyEnv"] = ScriptedTeacherServer.KeyEnv,
                ["AttemptTimeout"] = "00:00:05",
                ["TotalTimeout"] = "00:00:20",
                ["MaxRetries"] = 2,
                ["RetryBaseDelay"] = "00:00:00.010",
                ["RetryMaxDelay"] = "00:00:00.100",
                ["InputPricePer1M"] = 1.0,
                ["OutputPricePer1M"] = 2.0,
            }),
        };
        _settings = Path.Combine(_dir, "appsettings.json");
        await File.WriteAllTextAsync(_settings, settings.ToJsonString());
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Generates 6 traces with the current world-agent, then edits the prompt and generates 6 more: versions A and B.</summary>
    private async Task<(string A, string B)> TwoVersionsAsync()
    {
        async Task<string> Generate(string name)
        {
            var result = await CliRun.RunAsync("generate", "--config", _settings, "--recipe", "tool_trace", "--template", "world-agent", "--teacher", "scripted",
                "--tasks", "world:train", "--count", "6", "--out", Path.Combine(Datasets, name));
            Assert.True(result.ExitCode == 0, result.Error + result.Output);
            var row = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(Datasets, name, "manifest.json")))!["config"]!;
            return row["template_version"]!.GetValue<string>();
        }
        var a = await Generate("v1");
        var file = Path.Combine(_prompts, "world-agent.prompt");
        await File.WriteAllTextAsync(file, (await File.ReadAllTextAsync(file)).Replace("Answer briefly.", "Answer briefly and politely.", StringComparison.Ordinal));
        var b = await Generate("v2");
        Assert.NotEqual(a, b);
        return (a, b);
    }

    [Fact]
    public async Task Stats_diff_and_compare_work_from_the_datasets_after_the_prompt_file_changed()
    {
        var (a, b) = await TwoVersionsAsync();

        var json = await CliRun.RunAsync("templates", "stats", "--config", _settings, "--json");
        Assert.True(json.ExitCode == 0, json.Error);
        var stats = JsonNode.Parse(json.Output)!.AsArray();
        Assert.Equal(new[] { $"world-agent@{a}", $"world-agent@{b}" }.Order(StringComparer.Ordinal), stats.Select(s => s!["key"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.All(stats, s => Assert.Equal(6, s!["attempted"]!.GetValue<int>()));
        Assert.All(stats, s => Assert.True(s!["cost_usd"]!.GetValue<double>() > 0));
        var table = await CliRun.RunAsync("templates", "stats", "--config", _settings);
        Assert.Contains("verification pass rate", table.Output);
        Assert.Contains($"world-agent@{b}", table.Output);

        // Version A's file is gone from prompts/; its text comes from the dataset it generated.
        var diff = await CliRun.RunAsync("templates", "diff", "--config", _settings, $"world-agent@{a}", $"world-agent@{b[..8]}");
        Assert.True(diff.ExitCode == 0, diff.Error);
        Assert.Contains("-You are the customer-service agent", diff.Output);
        Assert.Contains("+You are the customer-service agent", diff.Output);
        Assert.Contains("Answer briefly and politely.", diff.Output);
        Assert.Contains("1 line(s) removed, 1 added", diff.Output);

        var outDir = Path.Combine(_dir, "compare");
        var compare = await CliRun.RunAsync("templates", "compare", "--config", _settings, $"world-agent@{a}", $"world-agent@{b}",
            "--teacher", "scripted", "--tasks", "world:train", "--count", "6", "--out", outDir);
        Assert.True(compare.ExitCode == 0, compare.Error + compare.Output);
        Assert.Contains($"world-agent@{b}: ", compare.Output);
        Assert.Contains("verified samples per dollar", compare.Output);
        Assert.Contains("McNemar on 6 tasks", compare.Output);
        Assert.True(new FileInfo(Path.Combine(outDir, "charts", "compare.png")).Length > 5_000);
        Assert.Contains("[", await File.ReadAllTextAsync(Path.Combine(outDir, "compare.md")));
    }

    [Fact]
    public async Task Compare_with_train_trains_one_student_per_arm_and_stats_links_their_scores_back()
    {
        var (a, b) = await TwoVersionsAsync();
        var outDir = Path.Combine(_dir, "runs", "compare");
        var config = Path.Combine(RepoPaths.Prompts, "..", "configs", "train", "world-sft.json");

        var compare = await CliRun.RunAsync("templates", "compare", "--config", _settings, $"world-agent@{a}", $"world-agent@{b}",
            "--teacher", "scripted", "--tasks", "world:train", "--count", "6", "--out", outDir, "--train", config,
            "--train-set", "student.preset=tiny-test", "--train-set", "steps=2", "--train-set", "device=cpu", "--train-set", "data.max_length=256",
            "--eval-tasks", "world:heldout", "--eval-count", "2", "--max-steps", "2");

        Assert.True(compare.ExitCode == 0, compare.Error + compare.Output);
        Assert.Contains("student held-out success", compare.Output);
        Assert.Contains("Students trained on each arm's data", await File.ReadAllTextAsync(Path.Combine(outDir, "compare.md")));
        var stats = await CliRun.RunAsync("templates", "stats", "--config", _settings, "--json", "--data", outDir);
        var students = JsonNode.Parse(stats.Output)!.AsArray().ToDictionary(s => s!["key"]!.GetValue<string>(), s => s!["students"]!.AsArray());
        Assert.Equal("student-a", students[$"world-agent@{a}"].Single()!["model"]!.GetValue<string>());
        Assert.Equal("student-b", students[$"world-agent@{b}"].Single()!["model"]!.GetValue<string>());
    }
}
