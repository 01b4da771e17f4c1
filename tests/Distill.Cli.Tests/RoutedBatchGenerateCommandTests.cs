using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Core.Samples;
using Distill.Data;
using Distill.Generation.Batch;
using Distill.Generation.Tests.Batch;
using Distill.World.Store;
using Distill.World.Tasks;

namespace Distill.Cli.Tests;

/// <summary>
/// <c>distill generate --batch --routing</c> end to end: tool traces routed by tier to an Azure OpenAI batch teacher and an OpenAI
/// batch teacher (a fake Files + Batch API each) and a local teacher with no Batch API (called online); a child killed with
/// <c>kill -9</c> after both batches are uploaded, then <c>--resume</c>.
/// </summary>
public sealed class RoutedBatchGenerateCommandTests : IAsyncLifetime
{
    private const string KeyEnv = "DISTILL_CLI_ROUTED_BATCH_KEY";
    private const int Count = 16;
    private static readonly Dictionary<string, string> ModelOf = new() { ["azure"] = "azure-deployment", ["openai"] = "openai-model", ["local"] = "local-model" };
    private readonly string _dir = Directory.CreateTempSubdirectory("distill-route-batch-cli-").FullName;
    private readonly IReadOnlyList<WorldTask> _tasks = new WorldTaskGenerator(new StoreWorld()).Generate(WorldSplits.Train, Count).ToList();
    private FakeBatchApi _azure = null!;
    private FakeBatchApi _openai = null!;
    private ScriptedTeacherServer _local = null!;
    private string _settings = null!;

    public async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable(KeyEnv, FakeBatchApi.Key);
        Environment.SetEnvironmentVariable(ScriptedTeacherServer.KeyEnv, ScriptedTeacherServer.Key);
        var world = new StoreWorld();
        var teacher = new ScriptedWorldTeacher(world, _tasks);
        _azure = await FakeBatchApi.StartAsync(azure: true, body => BatchGenerateCommandTests.Reply(teacher, body));
        _openai = await FakeBatchApi.StartAsync(azure: false, body => BatchGenerateCommandTests.Reply(teacher, body));
        _local = await ScriptedTeacherServer.StartAsync(Count);
        JsonObject Teacher(string name, string provider, string endpoint, string keyEnv, bool? batchApi) => new()
        {
            ["Name"] = name,
            ["Provider"] = provider,
            ["Endpoint"] = endpoint,
            ["Model"] = ModelOf[name],
            ["ApiKeyEnv"] = keyEnv,
            ["BatchApi"] = batchApi,
            ["MaxRetries"] = 0,
            ["InputPricePer1M"] = 1.0,
            ["OutputPricePer1M"] = 2.0,
        };
        var settings = new JsonObject
        {
            ["Paths"] = new JsonObject { ["Prompts"] = RepoPaths.Prompts, ["Cache"] = Path.Combine(_dir, "cache"), ["Datasets"] = Path.Combine(_dir, "datasets") },
            ["Teachers"] = new JsonArray(
                Teacher("azure", "azure-openai", _azure.Endpoint, KeyEnv, null),
                Teacher("openai", "openai-compatible", _openai.Endpoint, KeyEnv, true), // the fake is on loopback: say it takes batches
                Teacher("local", "openai-compatible", _local.Endpoint.ToString(), ScriptedTeacherServer.KeyEnv, null)),
            ["Routing"] = new JsonObject
            {
                ["by-tier"] = new JsonObject { ["Field"] = "tier", ["Routes"] = new JsonObject { ["T0"] = "azure", ["T1"] = "azure", ["T2"] = "openai" }, ["Default"] = "local" },
                ["all-local"] = new JsonObject { ["Field"] = "tier", ["Default"] = "local" },
            },
        };
        _settings = Path.Combine(_dir, "appsettings.json");
        await File.WriteAllTextAsync(_settings, settings.ToJsonString());
    }

    public async Task DisposeAsync()
    {
        await _azure.DisposeAsync();
        await _openai.DisposeAsync();
        await _local.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private string Out => Path.Combine(_dir, "datasets", "routed-traces");

    private static string TeacherOfTier(string tier) => tier is "T0" or "T1" ? "azure" : tier == "T2" ? "openai" : "local";

    private string[] Args(string routing, params string[] extra) =>
        ["generate", "--config", _settings, "--recipe", "tool_trace", "--tasks", "world:train", "--count", Count.ToString(CultureInfo.InvariantCulture), "--out", Out,
            "--routing", routing, "--batch", "--batch-poll-seconds", "0.005", "--batch-collect-seconds", "0.1", .. extra];

    private static List<string> CustomIds(FakeBatchApi api) => api.Uploads.SelectMany(u => u.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("custom_id").GetString()!).ToList();

    [Fact]
    public async Task Routed_batch_generate_killed_after_upload_resumes_every_teachers_batches_and_gets_every_task_once()
    {
        Assert.All(new[] { "azure", "openai", "local" }, t => Assert.Contains(_tasks, w => TeacherOfTier(w.Tier) == t)); // each teacher has tasks
        (_azure.PollsInProgress, _openai.PollsInProgress) = (1_000_000, 1_000_000); // the batches stay in_progress until the child is killed
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _dir };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "distill.dll"));
        foreach (var a in Args("by-tier")) start.ArgumentList.Add(a);
        start.Environment[KeyEnv] = FakeBatchApi.Key;
        start.Environment[ScriptedTeacherServer.KeyEnv] = ScriptedTeacherServer.Key;
        using var child = Process.Start(start)!;
        _ = child.StandardOutput.ReadToEndAsync();
        var stderr = child.StandardError.ReadToEndAsync();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(180) && !child.HasExited && BatchState.Load(Out).Owners.Count < 2) await Task.Delay(20);
        if (child.HasExited) Assert.Fail($"the child ended before it could be killed: {await stderr}");
        using (var kill = Process.Start("kill", ["-9", child.Id.ToString(CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync(); // no cleanup runs
        await child.WaitForExitAsync();
        Assert.Equal(["azure", "openai"], BatchState.Load(Out).Owners);
        var uploaded = (_azure.Uploads.Count, _openai.Uploads.Count);

        var refused = await CliRun.RunAsync(Args("by-tier"));
        var afterRefusal = (_azure.Uploads.Count, _openai.Uploads.Count);
        (_azure.PollsInProgress, _openai.PollsInProgress) = (1, 1);
        var resumed = await CliRun.RunAsync(Args("by-tier", "--resume"));

        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("--resume", refused.Error);
        Assert.Equal(uploaded, afterRefusal); // the refused run submitted nothing
        Assert.True(resumed.ExitCode == 0, resumed.Output + resumed.Error);
        Assert.Contains("Teacher 'local' has no Batch API: its tasks go online", resumed.Output);
        Assert.Matches(@"Batch API \(teacher azure\): .* [1-9]\d* recovered from an earlier run", resumed.Output);
        Assert.Matches(@"Batch API \(teacher openai\): .* [1-9]\d* recovered from an earlier run", resumed.Output);
        Assert.Empty(BatchState.Load(Out).InFlight);
        var reader = DatasetReader.Open(Out);
        var rows = new List<Sample>();
        await foreach (var s in reader.ReadSamplesAsync()) rows.Add(s);
        await foreach (var r in reader.ReadRejectsAsync()) rows.Add(r.Sample);
        Assert.Equal(Count, rows.Count);
        Assert.Equal(Count, rows.Select(r => r.Id).Distinct().Count());
        Assert.All(rows, r => Assert.Equal(ModelOf[TeacherOfTier(_tasks.First(t => t.Question == r.SeedInput).Tier)], r.Teacher!.Model));
        // Nothing the killed run submitted was submitted again: the resumed run took those batches' results.
        Assert.All(new[] { _azure, _openai }, api => Assert.Equal(CustomIds(api).Count, CustomIds(api).Distinct().Count()));
        var batch = DatasetManifest.Load(Out).Config!["batch"]!;
        Assert.Equal(0.5, (double)batch["price_factors"]!["azure"]!);
        Assert.Equal(["local"], batch["online_teachers"]!.AsArray().Select(n => (string)n!));
    }

    [Fact]
    public async Task Batch_with_a_routing_whose_teachers_take_no_batches_is_refused_in_one_line_before_any_call()
    {
        var result = await CliRun.RunAsync(Args("all-local"));

        Assert.Equal(DistillApp.UserError, result.ExitCode);
        var line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("none of the teachers routing 'all-local' sends tasks to has a Batch API (local)", line);
        Assert.Contains("BatchApi: true", line);
        Assert.Equal(0, _local.RequestCount);
        Assert.Empty(_azure.Calls);
    }
}
