using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Core.Errors;
using Distill.Core.Samples;
using Distill.Data;
using Distill.Generation.Batch;
using Distill.Generation.Recipes;
using Distill.Generation.Routing;
using Distill.Generation.Runner;
using Distill.Generation.Tests.Runner;
using Distill.Teachers;
using Distill.Teachers.Batch;
using Distill.Teachers.Tests;
using Distill.World.Tasks;
using Server = Distill.Teachers.Tests.FaultServer.FaultServer;

namespace Distill.Generation.Tests.Batch;

/// <summary>
/// <c>generate --batch --routing</c>: tasks routed by tier to an Azure OpenAI batch teacher, an OpenAI batch teacher (one fake
/// Files + Batch API each) and a local teacher with no Batch API (a fault server, called online), composed as the command does
/// through <see cref="BatchFleet"/>.
/// </summary>
public sealed class RoutedBatchTests : IAsyncLifetime
{
    /// <summary>The batch teachers' key variable; the registry (online clients, never called for them) reads the online key from it.</summary>
    private const string KeyEnv = TestTeachers.KeyEnv;
    private static readonly IReadOnlyList<WorldTask> World = ScriptedWorld.Tasks(20);
    private static readonly IReadOnlyList<SeedTask> Tasks = World.Select(t => t.ToSeedTask()).ToList();
    private static readonly Dictionary<string, string> ModelOf = new() { ["azure"] = "azure-deployment", ["openai"] = "openai-model", ["local"] = "local-model" };
    private static readonly BatchOptions Fast = new()
    {
        PollDelay = TimeSpan.FromMilliseconds(2),
        PollMaxDelay = TimeSpan.FromMilliseconds(10),
        CollectWindow = TimeSpan.FromMilliseconds(100),
        CancelWait = TimeSpan.FromSeconds(5),
    };

    private readonly string _dir = Directory.CreateTempSubdirectory("distill-batch-route-").FullName;
    private FakeBatchApi _azure = null!;
    private FakeBatchApi _openai = null!;
    private Server _local = null!;

    public async Task InitializeAsync()
    {
        _azure = await FakeBatchApi.StartAsync(azure: true, ScriptedWorld.Reply(World));
        _openai = await FakeBatchApi.StartAsync(azure: false, ScriptedWorld.Reply(World));
        _local = await TestTeachers.StartServer(o => o.Reply = ScriptedWorld.Reply(World));
    }

    public async Task DisposeAsync()
    {
        await _azure.DisposeAsync();
        await _openai.DisposeAsync();
        await _local.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private string Dataset => Path.Combine(_dir, "dataset");

    private static TeacherRoutingOptions ByTier() => new()
    {
        Field = "tier",
        Routes = new() { ["T0"] = "azure", ["T1"] = "azure", ["T2"] = "openai" },
        Default = "local",
    };

    private static string TeacherOfTier(string tier) => ByTier().Routes.GetValueOrDefault(tier) ?? "local";

    private IReadOnlyList<TeacherOptions> Teachers()
    {
        TeacherOptions Batch(string name, FakeBatchApi api, bool azure) => new()
        {
            Name = name,
            Provider = azure ? TeacherProviders.AzureOpenAI : TeacherProviders.OpenAICompatible,
            Endpoint = api.Endpoint,
            Model = ModelOf[name],
            ApiKeyEnv = KeyEnv,
            InputPricePer1M = azure ? 2 : 4,
            OutputPricePer1M = azure ? 8 : 16,
            BatchPriceFactor = azure ? 0.5 : 0.4,
            // The fake is on loopback: say that it takes batches, as a user does for a gateway.
            BatchApi = azure ? null : true,
            MaxRetries = 0,
            AttemptTimeout = TimeSpan.FromSeconds(5),
        };
        var local = TestTeachers.Options(_local, "local");
        local.Model = ModelOf["local"];
        local.CachedInputPricePer1M = null;
        local.AttemptTimeout = TimeSpan.FromSeconds(60);
        local.TotalTimeout = TimeSpan.FromSeconds(120);
        return [Batch("azure", _azure, azure: true), Batch("openai", _openai, azure: false), local];
    }

    /// <summary>Composes the run as <c>distill generate --batch --routing by-tier</c> does.</summary>
    private async Task<(RunProgress Progress, BatchFleet Fleet)> RunAsync(IReadOnlyList<TeacherOptions> teachers, bool resume = false, BatchOptions? options = null,
        CancellationToken ct = default)
    {
        var router = TaskRouter.Create("by-tier", ByTier(), teachers.Select(t => t.Name).ToList(), SampleKinds.ToolTrace, new Dictionary<string, object?>(), Tasks);
        var routed = router.TeachersOf(Tasks).Select(n => teachers.First(t => t.Name == n)).ToList();
        var state = BatchState.Load(Dataset);
        BatchFleet.Check(routed, router.Name, state, resume);
        using var registry = TestTeachers.Registry(null, [.. teachers]);
        var fleet = BatchFleet.Create(routed, options ?? Fast, state, registry.Get, ct, client: t => new BatchApiClient(t, environment: n => n == KeyEnv ? FakeBatchApi.Key : null));
        await using (fleet)
        {
            if (resume) await fleet.ResumeAsync(ct);
            var template = ScriptedWorld.Library.Get("tool-agent");
            var routes = routed.Select(t =>
            {
                var caching = new CachingTeacher((ITeacher?)fleet.For(t.Name) ?? registry.Get(t.Name), Path.Combine(_dir, "cache"), template.Version);
                return new TeacherRoute { Teacher = t.Name, Recipe = RecipeCatalog.Create(SampleKinds.ToolTrace, ScriptedWorld.Context(caching, template.Id)), Cache = caching };
            }).ToList();
            var runner = new GenerationRunner(router, routes, template.Version, new GenerateOptions
            {
                OutputDir = Dataset,
                Concurrency = 1000,
                CommitEvery = 5,
                Config = new JsonObject { ["recipe"] = SampleKinds.ToolTrace },
            });
            return (await runner.RunAsync(Tasks, null, ct), fleet);
        }
    }

    private async Task<List<Sample>> RowsAsync()
    {
        var reader = DatasetReader.Open(Dataset);
        var rows = new List<Sample>();
        await foreach (var s in reader.ReadSamplesAsync()) rows.Add(s);
        await foreach (var r in reader.ReadRejectsAsync()) rows.Add(r.Sample);
        return rows;
    }

    private static string TierOf(Sample s) => World.First(t => t.Question == s.SeedInput).Tier;

    private static IEnumerable<string> Models(FakeBatchApi api) => api.Uploads
        .SelectMany(u => u.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("body").GetProperty("model").GetString()!);

    [Fact]
    public async Task Routed_batch_run_sends_each_teachers_tasks_to_its_own_batches_or_online_and_every_task_lands_once_under_its_teacher()
    {
        var teachers = Teachers();

        var (progress, fleet) = await RunAsync(teachers);

        Assert.Equal(["local"], fleet.Online);
        Assert.Equal(["azure", "openai"], fleet.Teachers.Select(t => t.Name).Order());
        var rows = await RowsAsync();
        Assert.Equal(Tasks.Count, rows.Count);
        Assert.Equal(Tasks.Count, rows.Select(r => r.Id).Distinct().Count());
        Assert.Equal(Tasks.Count, progress.Accepted + progress.RejectedCount);
        Assert.All(rows, r => Assert.Equal(ModelOf[TeacherOfTier(TierOf(r))], r.Teacher!.Model));
        Assert.Equal(3, rows.Select(r => r.Teacher!.Model).Distinct().Count());
        foreach (var t in progress.Teachers)
        {
            Assert.Equal(World.Count(w => TeacherOfTier(w.Tier) == t.Teacher), t.Tasks);
            Assert.Equal(t.Tasks, t.Accepted + t.Rejected);
        }
        // Each batch teacher's lines went to its own provider, in its own shape; the local teacher was called online.
        Assert.All(Models(_azure), m => Assert.Equal("azure-deployment", m));
        Assert.All(Models(_openai), m => Assert.Equal("openai-model", m));
        Assert.NotEmpty(Models(_azure));
        Assert.NotEmpty(Models(_openai));
        Assert.Contains("POST /openai/batches?api-version=2024-10-21", _azure.Calls);
        Assert.Contains("POST /v1/batches", _openai.Calls);
        Assert.True(_local.RequestCount > 0);
        // Cost: each row at its teacher's batch price, or the online price for the local teacher.
        Assert.All(rows, r =>
        {
            var t = teachers.First(o => o.Model == r.Teacher!.Model);
            var online = (r.PromptTokens * t.InputPricePer1M + r.CompletionTokens * t.OutputPricePer1M) / 1e6;
            Assert.Equal(t.Name == "local" ? online : online * t.BatchPriceFactor, r.CostUsd, 12);
        });
        Assert.Empty(BatchState.Load(Dataset).InFlight);
    }

    [Fact]
    public async Task A_routed_run_stopped_with_batches_in_flight_resumes_them_and_gets_every_task_once()
    {
        // Run 1 stops once both batch teachers have a batch in flight, and neither provider confirms the cancel: the ids stay in
        // the state file, as after a kill -9.
        var teachers = Teachers();
        foreach (var api in new[] { _azure, _openai }) (api.PollsInProgress, api.HangOnCancel) = (1_000_000, true);
        using var cancel = new CancellationTokenSource();
        var (azureCreated, openaiCreated) = (0, 0);
        void CancelOnceBothSubmitted()
        {
            if (Volatile.Read(ref azureCreated) > 0 && Volatile.Read(ref openaiCreated) > 0) cancel.CancelAfter(TimeSpan.FromMilliseconds(50));
        }
        _azure.OnCreated = _ =>
        {
            Interlocked.Increment(ref azureCreated);
            CancelOnceBothSubmitted();
        };
        _openai.OnCreated = _ =>
        {
            Interlocked.Increment(ref openaiCreated);
            CancelOnceBothSubmitted();
        };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => RunAsync(teachers, options: Fast with { CancelWait = TimeSpan.FromMilliseconds(200) }, ct: cancel.Token));
        var state = BatchState.Load(Dataset);
        Assert.Equal(["azure", "openai"], state.Owners);
        var refused = Assert.Throws<DistillException>(() => BatchFleet.Check(teachers, "by-tier", state, resume: false));
        Assert.Contains("--resume", refused.Message + refused.Hint);

        foreach (var api in new[] { _azure, _openai }) (api.PollsInProgress, api.HangOnCancel, api.OnCreated) = (1, false, null);
        var (progress, fleet) = await RunAsync(teachers, resume: true);

        var rows = await RowsAsync();
        Assert.Equal(Tasks.Count, rows.Count);
        Assert.Equal(Tasks.Count, rows.Select(r => r.Id).Distinct().Count());
        Assert.All(rows, r => Assert.Equal(ModelOf[TeacherOfTier(TierOf(r))], r.Teacher!.Model));
        Assert.All(fleet.Teachers, t => Assert.True(t.Progress.Recovered > 0, $"{t.Name} recovered nothing"));
        // Nothing a batch answered was submitted again.
        foreach (var api in new[] { _azure, _openai })
        {
            var ids = api.Uploads.SelectMany(u => u.Split('\n', StringSplitOptions.RemoveEmptyEntries)).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("custom_id").GetString()).ToList();
            Assert.Equal(ids.Count, ids.Distinct().Count());
        }
        Assert.Empty(BatchState.Load(Dataset).InFlight);
        Assert.Equal(Tasks.Count, progress.Skipped + progress.Accepted + progress.RejectedCount);
    }

    [Fact]
    public async Task Batch_state_keeps_ids_by_teacher_and_reads_the_earlier_single_teacher_file()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(BatchState.PathIn(Dataset))!);
        await File.WriteAllTextAsync(BatchState.PathIn(Dataset), """{ "teacher": "azure", "in_flight": ["batch_1", "batch_2"] }""");

        var state = BatchState.Load(Dataset);
        state.Add("openai", "batch_3");
        state.Remove("batch_1");
        var reloaded = BatchState.Load(Dataset);

        Assert.Equal(["azure", "openai"], reloaded.Owners);
        Assert.Equal(["batch_2"], reloaded.InFlightOf("azure"));
        Assert.Equal(["batch_3"], reloaded.InFlightOf("openai"));
        Assert.Equal(["batch_2", "batch_3"], reloaded.InFlight);
        reloaded.Remove("batch_2");
        Assert.Equal(["openai"], BatchState.Load(Dataset).Owners);
    }

    [Fact]
    public void Only_azure_openai_and_api_openai_com_take_batches_unless_BatchApi_says_otherwise()
    {
        TeacherOptions T(string provider, string endpoint, bool? batchApi = null) => new() { Name = "t", Provider = provider, Endpoint = endpoint, Model = "m", BatchApi = batchApi };

        Assert.True(T(TeacherProviders.AzureOpenAI, "https://x.openai.azure.com").TakesBatches());
        Assert.True(T(TeacherProviders.OpenAICompatible, "https://api.openai.com/v1").TakesBatches());
        Assert.False(T(TeacherProviders.OpenAICompatible, "http://127.0.0.1:8000/v1").TakesBatches());
        Assert.True(T(TeacherProviders.OpenAICompatible, "http://gateway.local/v1", batchApi: true).TakesBatches());
        Assert.False(T(TeacherProviders.AzureOpenAI, "https://x.openai.azure.com", batchApi: false).TakesBatches());
    }

    [Fact]
    public void A_batch_run_with_no_teacher_that_takes_batches_or_with_a_strangers_batches_in_flight_is_refused_in_one_line()
    {
        var local = Teachers()[2];
        var state = BatchState.Load(Dataset);

        var single = Assert.Throws<DistillException>(() => BatchFleet.Check([local], null, state, resume: false));
        var routed = Assert.Throws<DistillException>(() => BatchFleet.Check([local], "by-tier", state, resume: false));
        state.Add("retired-teacher", "batch_9");
        var stranger = Assert.Throws<DistillException>(() => BatchFleet.Check(Teachers(), "by-tier", BatchState.Load(Dataset), resume: true));

        Assert.Contains("teacher 'local' has no Batch API", single.Message);
        Assert.Contains("BatchApi: true", single.Hint);
        Assert.Contains("none of the teachers routing 'by-tier' sends tasks to has a Batch API", routed.Message);
        Assert.Contains("'retired-teacher'", stranger.Message);
        Assert.All(new[] { single, routed, stranger }, e => Assert.DoesNotContain("\n", e.Message + e.Hint, StringComparison.Ordinal));
    }
}
