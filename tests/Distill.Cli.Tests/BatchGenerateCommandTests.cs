using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Core.Samples;
using Distill.Data;
using Distill.Generation.Batch;
using Distill.Generation.Tests.Batch;
using Distill.Teachers;
using Distill.Teachers.Tests.FaultServer;
using Distill.World.Store;
using Distill.World.Tasks;

namespace Distill.Cli.Tests;

/// <summary>`distill generate --batch` end to end: the CLI against the fake Files + Batch API on loopback, tool traces over the World.</summary>
public sealed class BatchGenerateCommandTests : IAsyncLifetime
{
    private const string KeyEnv = "DISTILL_CLI_BATCH_TEST_KEY";
    private const int Count = 8;
    private readonly string _dir = Directory.CreateTempSubdirectory("distill-batch-cli-").FullName;
    private FakeBatchApi _api = null!;
    private string _settings = null!;

    public async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable(KeyEnv, FakeBatchApi.Key);
        var world = new StoreWorld();
        var teacher = new ScriptedWorldTeacher(world, new WorldTaskGenerator(world).Generate(WorldSplits.Train, Count));
        _api = await FakeBatchApi.StartAsync(azure: false, body => Reply(teacher, body));
        var settings = new JsonObject
        {
            ["Paths"] = new JsonObject { ["Prompts"] = RepoPaths.Prompts, ["Cache"] = Path.Combine(_dir, "cache"), ["Datasets"] = Path.Combine(_dir, "datasets") },
            ["Teachers"] = new JsonArray(new JsonObject
            {
                ["Name"] = "batch",
                ["Provider"] = "openai-compatible",
                ["Endpoint"] = _api.Endpoint,
                ["Model"] = "world-teacher",
                ["ApiKeyEnv"] = KeyEnv,
                ["BatchApi"] = true, // the fake is on loopback, where an OpenAI-compatible server takes no batches by default
                ["MaxRetries"] = 0,
                ["InputPricePer1M"] = 1.0,
                ["OutputPricePer1M"] = 2.0,
            }),
        };
        _settings = Path.Combine(_dir, "appsettings.json");
        await File.WriteAllTextAsync(_settings, settings.ToJsonString());
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private string Out => Path.Combine(_dir, "datasets", "traces");

    private string[] Args(params string[] extra) =>
        ["generate", "--config", _settings, "--recipe", "tool_trace", "--tasks", "world:train", "--count", Count.ToString(CultureInfo.InvariantCulture), "--out", Out,
            "--batch", "--batch-poll-seconds", "0.005", "--batch-collect-seconds", "0.1", .. extra];

    /// <summary>The World demonstration's next assistant turn for the conversation in a request line's body.</summary>
    internal static ScriptedReply Reply(ScriptedWorldTeacher teacher, JsonElement body)
    {
        var messages = body.GetProperty("messages").EnumerateArray()
            .Select(m => (Role: m.GetProperty("role").GetString(), Content: m.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null))
            .Select(m => m.Role == ChatRoles.User ? ChatMessage.User(m.Content ?? "") : m.Role == ChatRoles.Tool ? ChatMessage.Tool("", "", m.Content ?? "") : null)
            .OfType<ChatMessage>()
            .ToList();
        var turn = teacher.CompleteAsync(new TeacherRequest { Messages = messages }).GetAwaiter().GetResult();
        return new ScriptedReply(turn.Content, turn.ToolCalls.Select(c => new ScriptedToolCall(c.Name, c.Arguments, c.Id)).ToList(), turn.ToolCalls.Count > 0 ? "tool_calls" : "stop");
    }

    [Fact]
    public async Task Batch_generate_killed_with_a_batch_in_flight_resumes_it_and_loses_and_duplicates_nothing()
    {
        _api.PollsInProgress = 1_000_000; // the first batch stays in_progress until the child is killed
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _dir };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "distill.dll"));
        foreach (var a in Args()) start.ArgumentList.Add(a);
        start.Environment[KeyEnv] = FakeBatchApi.Key;
        using var child = Process.Start(start)!;
        _ = child.StandardOutput.ReadToEndAsync();
        var stderr = child.StandardError.ReadToEndAsync();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(180) && !child.HasExited && BatchState.Load(Out).InFlight.Count == 0) await Task.Delay(20);
        if (child.HasExited) Assert.Fail($"the child ended before it could be killed: {await stderr}");
        Assert.True(BatchState.Load(Out).InFlight.Count > 0, $"no batch in flight after {clock.Elapsed}");
        using (var kill = Process.Start("kill", ["-9", child.Id.ToString(CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync(); // no cleanup runs
        await child.WaitForExitAsync();
        Assert.Single(BatchState.Load(Out).InFlight);
        var inFlight = _api.Uploads[0].Split('\n', StringSplitOptions.RemoveEmptyEntries).Length; // all first turns, or fewer on a slow machine

        var refused = await CliRun.RunAsync(Args());
        _api.PollsInProgress = 1;
        var resumed = await CliRun.RunAsync(Args("--resume"));

        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("--resume", refused.Error);
        Assert.True(resumed.ExitCode == 0, resumed.Output + resumed.Error);
        Assert.Contains($"{inFlight} recovered from an earlier run", resumed.Output);
        Assert.Empty(BatchState.Load(Out).InFlight);
        var reader = DatasetReader.Open(Out);
        var ids = new List<string>();
        await foreach (var s in reader.ReadSamplesAsync()) ids.Add(s.Id);
        await foreach (var r in reader.ReadRejectsAsync()) ids.Add(r.Sample.Id);
        Assert.Equal(Count, ids.Count);
        Assert.Equal(Count, ids.Distinct().Count());
        Assert.True(reader.SampleCount >= Count - 1, $"{reader.SampleCount} accepted");
        // The killed run's requests (the first turn of every trace) were submitted once: the resumed run took their results.
        var customIds = _api.Uploads.SelectMany(u => u.Split('\n', StringSplitOptions.RemoveEmptyEntries)).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("custom_id").GetString()).ToList();
        Assert.Equal(customIds.Count, customIds.Distinct().Count());
        Assert.True(_api.Uploads.Count >= 2, "a tool trace needs more than one round");
    }

    [Fact]
    public async Task Batch_refuses_a_built_in_teacher_and_resume_refuses_an_online_run()
    {
        var scripted = await CliRun.RunAsync(["generate", "--config", _settings, "--recipe", "tool_trace", "--tasks", "world:train", "--count", "2", "--out", Out, "--teacher", "world-scripted", "--batch"]);
        var resumeAlone = await CliRun.RunAsync(["generate", "--config", _settings, "--recipe", "tool_trace", "--tasks", "world:train", "--count", "2", "--out", Out, "--resume"]);

        Assert.NotEqual(0, scripted.ExitCode);
        Assert.Contains("--batch needs a configured Azure OpenAI or OpenAI teacher", scripted.Error);
        Assert.NotEqual(0, resumeAlone.ExitCode);
        Assert.Contains("--resume is for --batch runs", resumeAlone.Error);
    }
}
