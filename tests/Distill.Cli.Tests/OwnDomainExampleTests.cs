using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Cli.Composition;
using Distill.Core.Samples;
using Distill.Data;
using Distill.Generation.Recipes;
using Distill.Generation.Runner;
using Distill.Teachers.Tests.FaultServer;

namespace Distill.Cli.Tests;

/// <summary>
/// examples/own-domain as its README runs it, with the example's own settings file, template, task files and train config:
/// the plugin's tools (loaded from its .dll through Plugins:Assemblies) are offered to a teacher and really executed, the
/// traces are verified against the task file's ground truth, a student trains on them and is evaluated on the held-out file.
/// The teacher is a local fake that plays each task's expected tool call, then answers with the tool's result.
/// </summary>
public sealed class OwnDomainExampleTests : IAsyncLifetime
{
    private const string KeyEnv = "LIBRARY_TEACHER_API_KEY";

    private readonly string _dir = Directory.CreateTempSubdirectory("distill-own-domain-").FullName;
    private FaultServer _teacher = null!;

    private static string Example(string name) => Path.Combine(LibraryToolsPlugin.ExampleDir, name);

    public async Task InitializeAsync()
    {
        var tasks = new List<SeedTask>();
        foreach (var file in new[] { "tasks.jsonl", "heldout.jsonl" })
            tasks.AddRange(await TaskSources.LoadAsync(Example(file), null, TaskDomains.BuiltIn.All));
        var byQuestion = tasks.ToDictionary(t => t.Input, StringComparer.Ordinal);
        _teacher = await FaultServer.StartAsync(new FaultServerOptions { Reply = request => Librarian(request, byQuestion) });
        Environment.SetEnvironmentVariable(KeyEnv, _teacher.Options.ApiKey);
    }

    public async Task DisposeAsync()
    {
        await _teacher.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>The example's appsettings.json; only what lives on this machine is overridden (folders, the built .dll, the fake teacher).</summary>
    private string[] Settings(string? prompts = null) =>
    [
        "--config", Example("appsettings.json"),
        "--set", $"Paths:Prompts={prompts ?? Example("prompts")}",
        "--set", $"Paths:Cache={Path.Combine(_dir, "cache")}",
        "--set", $"Paths:Datasets={Path.Combine(_dir, "datasets")}",
        "--set", $"Paths:Runs={Path.Combine(_dir, "runs")}",
        "--set", $"Plugins:Assemblies:0={LibraryToolsPlugin.Path}",
        "--set", $"Teachers:0:Endpoint={_teacher.OpenAIEndpoint}",
    ];

    /// <summary>First the task's expected tool call; once a tool result is in the conversation, that result as the answer.</summary>
    private static ScriptedReply Librarian(JsonElement request, IReadOnlyDictionary<string, SeedTask> byQuestion)
    {
        var messages = request.GetProperty("messages").EnumerateArray().ToList();
        var toolResult = messages.LastOrDefault(m => m.GetProperty("role").GetString() == "tool");
        if (toolResult.ValueKind == JsonValueKind.Object) return new ScriptedReply(Text(toolResult.GetProperty("content")), FinishReason: "stop");
        var question = Text(messages.Last(m => m.GetProperty("role").GetString() == "user").GetProperty("content"));
        var call = byQuestion[question].ExpectedCalls![0];
        return new ScriptedReply(null, [new ScriptedToolCall(call.Name, JsonSerializer.Serialize(call.Arguments))], "tool_calls");
    }

    private static string Text(JsonElement content) => content.ValueKind == JsonValueKind.String
        ? content.GetString()!
        : string.Concat(content.EnumerateArray().Select(p => p.GetProperty("text").GetString()));

    [Fact]
    public async Task Example_plugin_tools_run_in_generation_then_a_student_trains_and_is_evaluated_on_held_out_tasks()
    {
        var data = Path.Combine(_dir, "datasets", "library");
        string[] args = [.. Settings(), "generate", "--recipe", "tool_trace", "--template", "library-agent", "--teacher", "library-teacher",
            "--tasks", Example("tasks.jsonl"), "--out", data];
        var dryRun = await CliRun.RunAsync([.. args, "--dry-run"]);

        Assert.True(dryRun.ExitCode == 0, dryRun.Output + dryRun.Error);
        Assert.Contains("user: Is The Hobbit on the shelf right now?", dryRun.Output, StringComparison.Ordinal); // the first prompt
        Assert.Equal(0, _teacher.RequestCount);

        var generate = await CliRun.RunAsync(args);

        Assert.True(generate.ExitCode == 0, generate.Output + generate.Error);
        Assert.Contains("\"find_book\"", _teacher.Requests[0].Body, StringComparison.Ordinal); // the plugin's tools were offered
        var samples = new List<Sample>();
        await foreach (var s in DatasetReader.Open(data).ReadSamplesAsync()) samples.Add(s);
        Assert.Equal(8, samples.Count);
        Assert.All(samples, s => Assert.True(s.Verified, $"{s.Answer} failed its task's expected calls or facts"));
        var toolTurns = samples.SelectMany(s => s.Messages).Where(m => m.Role == ChatRoles.Tool).Select(m => m.Content).ToList();
        // Text only the plugin's own code writes: its catalogue and its hours, through its functions.
        Assert.Contains("The Hobbit by J. R. R. Tolkien: available, 2 copies on shelf 823 TOL.", toolTurns);
        Assert.Contains("Dune by Frank Herbert: not available, every copy is on loan; the first is due back on 2026-12-10.", toolTurns);
        Assert.Contains("Riverside branch: Monday to Friday 09:00-20:00, Saturday 10:00-16:00, closed on Sunday.", toolTurns);
        Assert.DoesNotContain(_teacher.Options.ApiKey, generate.Output + generate.Error + await File.ReadAllTextAsync(Path.Combine(data, DatasetSchema.ManifestFile)));

        var run = Path.Combine(_dir, "runs", "library-sft");
        var config = JsonNode.Parse(await File.ReadAllTextAsync(Example("train.json")), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip })!.AsObject();
        config.Remove("$schema");
        config["datasets"] = new JsonArray(data);
        config["out"] = run;
        config["steps"] = 2;
        config["log_every"] = 1;
        config["device"] = "cpu";
        var configPath = Path.Combine(_dir, "train.json");
        await File.WriteAllTextAsync(configPath, config.ToJsonString());
        var train = await CliRun.RunAsync("train", configPath);

        Assert.True(train.ExitCode == 0, train.Output + train.Error);
        Assert.True(File.Exists(Path.Combine(run, "model.safetensors")));

        var evalDir = Path.Combine(_dir, "eval");
        var evaluate = await CliRun.RunAsync([.. Settings(), "evaluate", "--model", $"student={run}", "--teacher", "library-teacher",
            "--tasks", Example("heldout.jsonl"), "--template", "library-agent", "--count", "4", "--max-steps", "3", "--concurrency", "4", "--out", evalDir]);

        Assert.True(evaluate.ExitCode == 0, evaluate.Output + evaluate.Error);
        Assert.True(File.Exists(Path.Combine(evalDir, "report.md")));
        // The teacher plays the held-out tasks' calls; the plugin answers; the answers are verified against heldout.jsonl's facts.
        Assert.Matches(@"library-teacher\s*│\s*100\.0 % of 4", evaluate.Output);
        Assert.Matches(@"student\s*│\s*\d+\.\d % of 4", evaluate.Output);
    }

    [Fact]
    public async Task With_the_example_plugin_loaded_the_world_still_generates_with_its_own_tools()
    {
        var data = Path.Combine(_dir, "datasets", "world");
        var generate = await CliRun.RunAsync([.. Settings(RepoPaths.Prompts),
            "generate", "--recipe", "tool_trace", "--template", "world-agent", "--teacher", "world-scripted", "--tasks", "world:train", "--count", "3", "--out", data]);

        Assert.True(generate.ExitCode == 0, generate.Output + generate.Error);
        var samples = new List<Sample>();
        await foreach (var s in DatasetReader.Open(data).ReadSamplesAsync()) samples.Add(s);
        Assert.Equal(3, samples.Count);
        Assert.All(samples, s => Assert.True(s.Verified));
        Assert.All(samples, s => Assert.DoesNotContain("find_book", s.Tools!, StringComparison.Ordinal));
        Assert.Equal(0, _teacher.RequestCount);
    }

    [Theory]
    [InlineData("appsettings.json", "settings")]
    [InlineData("train.json", "train")]
    public void Example_configs_name_the_shipped_schemas_and_follow_them(string file, string kind) =>
        ConfigSchemaTests.AssertNamesAndFollows(Example(file), kind);
}
