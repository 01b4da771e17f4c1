using System.Text.Json;
using Distill.Data;

namespace Distill.Cli.Tests.Examples;

/// <summary>
/// examples/azure-openai-teacher as its README walks it: a `--dry-run` estimate, generation, training, evaluation, with the
/// example's own appsettings.json and train.json. The teacher is a local fake of Azure OpenAI's route (deployment in the path,
/// api-version in the query, key in the `api-key` header) that plays the embedded world's scripted demonstrations; `--set`
/// points the example's endpoint at it and moves the paths into a temporary folder. Training is cut to 2 steps.
/// </summary>
public sealed class AzureOpenAITeacherExampleTests : IAsyncLifetime
{
    // The variable the example's settings name; the key lives only there, as the README tells the user.
    private const string KeyEnv = "AZURE_OPENAI_API_KEY";

    private readonly string _dir = Directory.CreateTempSubdirectory("distill-example-azure-").FullName;
    private ScriptedTeacherServer _azure = null!;
    private string _example = null!;

    public async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable(KeyEnv, ScriptedTeacherServer.Key);
        _azure = await ScriptedTeacherServer.StartAsync(trainTasks: 8, heldOutTasks: 3);
        _example = ExampleFolder.CopyTo("azure-openai-teacher", Path.Combine(_dir, "example"));
    }

    public async Task DisposeAsync()
    {
        await _azure.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private string Traces => Path.Combine(_dir, "datasets", "azure-traces");
    private string Run => Path.Combine(_dir, "runs", "azure-student");
    private string Evaluation => Path.Combine(_dir, "runs", "azure-eval");

    // What the README's commands add to reach the fake and keep every file in the temporary folder.
    private string[] Settings =>
    [
        "--config", Path.Combine(_example, "appsettings.json"),
        "--set", $"Teachers:0:Endpoint={_azure.AzureEndpoint}",
        "--set", $"Paths:Prompts={RepoPaths.Prompts}",
        "--set", $"Paths:Cache={Path.Combine(_dir, "cache")}",
    ];

    private string[] Generate(params string[] extra) =>
        ["generate", .. Settings, "--recipe", "tool_trace", "--template", "world-agent", "--teacher", "azure", "--tasks", "world:train", "--count", "6", "--out", Traces, .. extra];

    [Fact]
    public async Task Readme_steps_estimate_generate_train_and_evaluate_through_the_azure_route_without_writing_the_key()
    {
        // 1. --dry-run: renders every prompt, prints the estimate, sends nothing, writes nothing.
        var dryRun = await CliRun.RunAsync(Generate("--dry-run"));
        Assert.True(dryRun.ExitCode == 0, dryRun.Output + dryRun.Error);
        Assert.Contains("prompt tokens", dryRun.Output, StringComparison.Ordinal);
        Assert.Contains("cost (at most)", dryRun.Output, StringComparison.Ordinal);
        Assert.Equal(0, _azure.RequestCount);
        Assert.False(Directory.Exists(Traces));

        // 2. generate: every request on Azure's route with the key header; verified tool-call traces with the teacher's lineage.
        var generate = await CliRun.RunAsync(Generate("--budget-usd", "2"));
        Assert.True(generate.ExitCode == 0, generate.Output + generate.Error);
        Assert.Contains("accepted", generate.Output, StringComparison.Ordinal);
        Assert.True(_azure.AzureRequestCount > 0);
        Assert.Equal(_azure.RequestCount, _azure.AzureRequestCount);
        var reader = DatasetReader.Open(Traces);
        Assert.Equal(6, reader.SampleCount + reader.RejectCount);
        Assert.True(reader.SampleCount >= 3, $"only {reader.SampleCount} accepted traces");
        await foreach (var sample in reader.ReadSamplesAsync())
        {
            Assert.True(sample.Verified, sample.Id);
            Assert.Equal("azure-openai", sample.Teacher!.Provider);
            Assert.Contains(sample.Messages, m => m.ToolCalls.Count > 0);
        }

        // 3. train: the example's config, two steps of the smaller student preset (the example's decodes too slowly for a test).
        var train = await CliRun.RunAsync("train", Path.Combine(_example, "train.json"),
            "--set", $"datasets=[\"{Traces}\"]", "--set", $"out={Run}", "--set", "steps=2", "--set", "device=cpu", "--set", "student:preset=world-student-small");
        Assert.True(train.ExitCode == 0, train.Output + train.Error);
        Assert.Contains($"done: completed; run folder {Run}", train.Output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(Run, "model.safetensors")));

        // 4. evaluate: the student and the teacher on the same held-out tasks, with the paired comparison.
        var evaluate = await CliRun.RunAsync(["evaluate", .. Settings, "--model", $"student={Run}", "--teacher", "azure",
            "--compare", "student vs azure", "--tasks", "world:heldout", "--count", "3", "--max-steps", "3", "--out", Evaluation]);
        Assert.True(evaluate.ExitCode == 0, evaluate.Output + evaluate.Error);
        Assert.Contains("task success", evaluate.Output, StringComparison.Ordinal);
        Assert.Contains("100.0 % of 3", evaluate.Output, StringComparison.Ordinal);
        using (var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(Evaluation, "evaluation.json"))))
        {
            var byName = json.RootElement.EnumerateArray().ToDictionary(e => e.GetProperty("model").GetString()!);
            Assert.Equal(3, byName["student"].GetProperty("tasks").GetInt32());
            // The scripted demonstrations solve every task; a fake that answered anything else would not be the teacher.
            Assert.Equal(3, byName["azure"].GetProperty("succeeded").GetInt32());
        }
        var report = await File.ReadAllTextAsync(Path.Combine(Evaluation, "report.md"));
        Assert.Contains("| azure | 3 |", report, StringComparison.Ordinal);
        Assert.Contains("**student vs azure**", report, StringComparison.Ordinal);

        // The key is in the environment only: in no file any step wrote and in nothing any step printed.
        Assert.Empty(ExampleFolder.FilesContaining(_dir, ScriptedTeacherServer.Key));
        foreach (var result in new[] { dryRun, generate, train, evaluate })
        {
            Assert.DoesNotContain(ScriptedTeacherServer.Key, result.Output + result.Error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_wrong_key_stops_generation_with_a_401_error_that_does_not_echo_the_key()
    {
        Environment.SetEnvironmentVariable("DISTILL_EXAMPLE_WRONG_AZURE_KEY", "wrong-key-" + ScriptedTeacherServer.Key[..4]);

        var result = await CliRun.RunAsync(Generate("--set", "Teachers:0:ApiKeyEnv=DISTILL_EXAMPLE_WRONG_AZURE_KEY"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("401", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-key-", result.Output + result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
    }
}
