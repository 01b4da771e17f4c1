using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Core.Samples;
using Distill.Data;
using Distill.Generation.Quality;
using Distill.Generation.Recipes;
using Distill.Generation.Runner;
using Distill.Teachers;
using Distill.Teachers.Tests;
using Distill.Teachers.Tests.FaultServer;
using Distill.World.Tasks;
using Server = Distill.Teachers.Tests.FaultServer.FaultServer;

namespace Distill.Generation.Tests.Runner;

public sealed class GenerationRunnerTests : IAsyncLifetime
{
    private static readonly IReadOnlyList<WorldTask> World = ScriptedWorld.Tasks(20);
    private static readonly IReadOnlyList<SeedTask> Tasks = World.Select(t => t.ToSeedTask()).ToList();
    private readonly string _dir = Directory.CreateTempSubdirectory("distill-gen-").FullName;
    private readonly LogSink _logs = new();
    private Server _server = null!;

    public async Task InitializeAsync() => _server = await TestTeachers.StartServer(o => o.Reply = ScriptedWorld.Reply(World));

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private string Out(string name = "ds") => Path.Combine(_dir, name);
    private string Cache => Path.Combine(_dir, "cache");

    private async Task<RunProgress> RunAsync(string outDir, IReadOnlyList<SeedTask>? tasks = null, string recipe = SampleKinds.ToolTrace, bool reparse = false,
        double? budget = null, int concurrency = 4, Action<TeacherOptions>? teacher = null, CancellationToken ct = default, bool judge = false,
        IProgress<RunProgress>? progress = null)
    {
        var options = TestTeachers.Options(_server);
        teacher?.Invoke(options);
        using var registry = TestTeachers.Registry(_logs, options);
        var template = ScriptedWorld.Library.Get(RecipeCatalog.DefaultTemplate(recipe));
        var ledger = budget is { } limit ? new BudgetLedger(limit) : null;
        var client = ledger is null ? registry.Get(options.Name) : new BudgetedTeacher(registry.Get(options.Name), ledger, WorstCaseCost.Highest([options]));
        var caching = new CachingTeacher(client, Cache, template.Version, reparse);
        var context = ScriptedWorld.Context(caching, template.Id);
        var runner = new GenerationRunner(RecipeCatalog.Create(recipe, context), caching, template.Version, new GenerateOptions
        {
            OutputDir = outDir,
            Concurrency = concurrency,
            Budget = ledger,
            CommitEvery = 3,
            Judge = judge ? new LlmJudge(ScriptedWorld.Library.Get("judge-score"), caching) : null,
            MinJudgeScore = 5,
            Config = new JsonObject { ["recipe"] = recipe, ["teacher"] = new JsonObject { ["endpoint"] = options.Endpoint, ["api_key_env"] = options.ApiKeyEnv } },
        }, _logs.Factory.CreateLogger("test"));
        return await runner.RunAsync(tasks ?? Tasks, progress, ct);
    }

    private static async Task<(List<Sample> Accepted, List<RejectedSample> Rejected)> ReadAsync(string dir)
    {
        var reader = DatasetReader.Open(dir);
        var accepted = new List<Sample>();
        await foreach (var s in reader.ReadSamplesAsync()) accepted.Add(s);
        var rejected = new List<RejectedSample>();
        await foreach (var r in reader.ReadRejectsAsync()) rejected.Add(r);
        return (accepted, rejected);
    }

    [Fact]
    public async Task Run_under_30_percent_faults_accounts_for_every_sample()
    {
        _server.Options.RandomFaultRate = 0.3;

        var result = await RunAsync(Out(), teacher: t => t.MaxRetries = 8);

        var (accepted, rejected) = await ReadAsync(Out());
        Assert.Equal(Tasks.Count, accepted.Count + rejected.Count);
        Assert.Equal(result.Accepted, accepted.Count);
        Assert.All(rejected, r => Assert.False(string.IsNullOrEmpty(r.RejectReason)));
        Assert.Equal(Tasks.Count, accepted.Select(s => s.Id).Concat(rejected.Select(r => r.Sample.Id)).Distinct().Count());
        Assert.True(accepted.Count >= Tasks.Count / 2, $"only {accepted.Count} accepted: {string.Join(", ", rejected.Select(r => r.RejectReason))}");
        Assert.Contains(_server.Requests, r => r.Status != 200);
        Assert.All(accepted, s =>
        {
            Assert.Equal("tool-agent", s.TemplateId);
            Assert.Equal(SampleKinds.ToolTrace, s.Recipe);
            Assert.NotNull(s.TemplateVersion);
            Assert.Equal("gpt-4o-mini", s.Teacher!.Model);
            Assert.NotNull(s.Params);
            Assert.NotNull(s.SeedInput);
        });
    }

    [Fact]
    public async Task Resume_with_the_same_arguments_calls_nothing_for_committed_ids_and_adds_no_duplicates()
    {
        var first = await RunAsync(Out());
        _server.Reset();
        Directory.Delete(Cache, recursive: true); // prove it is the dataset, not the cache, that skips them

        var second = await RunAsync(Out());

        Assert.Equal(0, _server.RequestCount);
        Assert.Equal(Tasks.Count, second.Skipped);
        var (accepted, rejected) = await ReadAsync(Out());
        Assert.Equal(first.Accepted, accepted.Count);
        Assert.Equal(Tasks.Count, accepted.Count + rejected.Count);
        Assert.Equal(accepted.Count, accepted.Select(s => s.Id).Distinct().Count());
    }

    [Fact]
    public async Task Reparse_rederives_rows_from_the_cache_without_calling_the_teacher()
    {
        var first = await RunAsync(Out("a"));
        _server.Reset();

        var reparsed = await RunAsync(Out("b"), reparse: true);

        Assert.Equal(0, _server.RequestCount);
        Assert.Equal(first.Accepted, reparsed.Accepted);
        Assert.Equal(0, reparsed.TeacherCalls);
        var (a, _) = await ReadAsync(Out("a"));
        var (b, _) = await ReadAsync(Out("b"));
        Assert.Equal(a.Select(s => s.Id).Order(), b.Select(s => s.Id).Order());
    }

    [Fact]
    public async Task Reparse_of_an_uncached_request_is_a_not_cached_reject_not_a_call()
    {
        var result = await RunAsync(Out(), Tasks.Take(2).ToList(), reparse: true);

        Assert.Equal(0, _server.RequestCount);
        Assert.Equal(2, result.Uncommitted[NotCachedException.Reason]);
        Assert.Empty(result.Rejected);

        var normal = await RunAsync(Out(), Tasks.Take(2).ToList());

        Assert.Equal(2, normal.Accepted + normal.RejectedCount);
        Assert.Equal(0, normal.Skipped);
    }

    [Fact]
    public async Task Teacher_down_leaves_the_sample_uncommitted_so_resume_retries_it()
    {
        _server.Options.DefaultFault = Fault.ServerError;

        var down = await RunAsync(Out(), Tasks.Take(2).ToList(), teacher: t => t.MaxRetries = 0);
        _server.Options.DefaultFault = Fault.None;
        var resumed = await RunAsync(Out(), Tasks.Take(2).ToList());

        Assert.Equal(2, down.Uncommitted[TeacherRejectReasons.Unavailable]);
        Assert.Equal(0, resumed.Skipped);
        Assert.Equal(2, resumed.Accepted + resumed.RejectedCount);
    }

    [Fact]
    public void Cache_key_changes_with_template_version_and_parameters()
    {
        var teacher = new NoCallTeacher();
        var request = new TeacherRequest { Messages = [ChatMessage.User("hi")], Temperature = 0.2f };

        var key = new CachingTeacher(teacher, Cache, "v1").KeyOf(request);

        Assert.Equal(key, new CachingTeacher(teacher, Cache, "v1").KeyOf(request with { }));
        Assert.NotEqual(key, new CachingTeacher(teacher, Cache, "v2").KeyOf(request));
        Assert.NotEqual(key, new CachingTeacher(teacher, Cache, "v1").KeyOf(request with { Temperature = 0.3f }));
        Assert.NotEqual(key, new CachingTeacher(teacher, Cache, "v1").KeyOf(request with { Tools = "[]" }));
    }

    [Fact]
    public async Task Dry_run_renders_every_prompt_and_estimates_cost_without_calls()
    {
        var options = TestTeachers.Options(_server);
        var context = ScriptedWorld.Context(new NoCallTeacher());

        var estimate = await DryRun.EstimateAsync(RecipeCatalog.Create(SampleKinds.ToolTrace, context), context, options, Tasks);

        Assert.Equal(0, _server.RequestCount);
        Assert.Equal(Tasks.Count, estimate.Samples);
        Assert.True(estimate.Calls > Tasks.Count);
        Assert.True(estimate.PromptTokens > 0 && estimate.CostUsd > 0);
        Assert.Contains(estimate.FirstPrompt, l => l.StartsWith("system:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Budget_stops_the_run_cleanly_with_everything_so_far_committed()
    {
        var result = await RunAsync(Out(), budget: 1.0, concurrency: 1, teacher: t => t.InputPricePer1M = 40);

        Assert.True(result.BudgetReached);
        Assert.InRange(result.CostUsd, 0.01, 1.0);
        var (accepted, rejected) = await ReadAsync(Out());
        Assert.InRange(accepted.Count + rejected.Count, 1, Tasks.Count - 1);
        Assert.Equal(result.Accepted + result.RejectedCount, accepted.Count + rejected.Count);
    }

    [Fact]
    public async Task Cancellation_stops_cleanly_and_keeps_finished_rows()
    {
        // Cancelled once a commit (every 3 rows) has happened, not after a fixed time: a loaded machine may not get there in time.
        _server.Options.Latency = TimeSpan.FromMilliseconds(30);
        using var cts = new CancellationTokenSource();
        var cancelAfterCommit = new ReportedProgress(p => { if (p.Accepted >= 3) cts.Cancel(); });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => RunAsync(Out(), concurrency: 2, ct: cts.Token, progress: cancelAfterCommit));
        _server.Options.Latency = TimeSpan.Zero;
        var resumed = await RunAsync(Out());

        var (accepted, rejected) = await ReadAsync(Out());
        Assert.Equal(Tasks.Count, accepted.Count + rejected.Count);
        Assert.True(resumed.Skipped > 0, "the cancelled run committed nothing");
    }

    [Fact]
    public async Task Duplicate_and_near_duplicate_rows_are_rejected_also_against_rows_committed_before()
    {
        _server.Options.Reply = null;
        _server.Options.Content = "You can return any item within 30 days of delivery for a full refund to your card.";
        var file = Tasks.Take(0).ToList();
        var seeds = new List<SeedTask> { new("a", "How do returns work?"), new("b", "How do returns work?") };

        var first = await RunAsync(Out(), seeds, SampleKinds.Instruction);
        var second = await RunAsync(Out(), [.. seeds, new SeedTask("c", "How do returns work?")], SampleKinds.Instruction);

        Assert.Equal(1, first.Accepted);
        Assert.Equal(1, first.Rejected[QualityRejectReasons.Duplicate]);
        Assert.Equal(0, second.Accepted);
        Assert.Equal(2, second.Skipped);
        Assert.Equal(1, second.Rejected[QualityRejectReasons.Duplicate]);
    }

    [Fact]
    public async Task Api_key_never_appears_in_rows_manifest_cache_or_logs()
    {
        _server.Options.RandomFaultRate = 0.3;
        await RunAsync(Out(), Tasks.Take(8).ToList());

        var (accepted, rejected) = await ReadAsync(Out());
        var everything = string.Join('\n',
            JsonSerializer.Serialize(accepted), JsonSerializer.Serialize(rejected),
            File.ReadAllText(Path.Combine(Out(), DatasetSchema.ManifestFile)),
            string.Join('\n', Directory.EnumerateFiles(Cache, "*", SearchOption.AllDirectories).Select(File.ReadAllText)),
            string.Join('\n', _logs.Lines));
        Assert.NotEmpty(accepted);
        Assert.DoesNotContain(TestTeachers.Key, everything, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Azure_route_is_used_for_an_azure_openai_teacher()
    {
        var result = await RunAsync(Out(), Tasks.Take(3).ToList(), teacher: t =>
        {
            t.Provider = TeacherProviders.AzureOpenAI;
            t.Endpoint = _server.BaseUri.ToString();
        });

        Assert.Equal(3, result.Accepted + result.RejectedCount);
        Assert.True(result.Accepted > 0);
        Assert.All(_server.Requests, r => Assert.StartsWith("/openai/deployments/gpt-4o-mini/chat/completions", r.Path, StringComparison.Ordinal));
        var (accepted, _) = await ReadAsync(Out());
        Assert.All(accepted, s => Assert.Equal(TeacherProviders.AzureOpenAI, s.Teacher!.Provider));
    }

    [Fact]
    public async Task Shards_split_the_task_list_disjointly()
    {
        var template = ScriptedWorld.Library.Get("tool-agent");
        var caching = new CachingTeacher(new NoCallTeacher(), Cache, template.Version);
        var recipe = RecipeCatalog.Create(SampleKinds.ToolTrace, ScriptedWorld.Context(caching));
        var plans = Enumerable.Range(0, 3).Select(i => new GenerationRunner(recipe, caching, template.Version,
            new GenerateOptions { OutputDir = Out(), ShardIndex = i, ShardCount = 3 }).Plan(Tasks)).ToList();

        Assert.Equal(Tasks.Count, plans.Sum(p => p.Count));
        Assert.Equal(Tasks.Count, plans.SelectMany(p => p.Select(x => x.Id)).Distinct().Count());
    }

    [Fact]
    public void Sample_ids_are_deterministic_and_depend_on_every_part()
    {
        var id = GenerationRunner.SampleId("cot", "v1", "q", 0);

        Assert.Equal(id, GenerationRunner.SampleId("cot", "v1", "q", 0));
        Assert.NotEqual(id, GenerationRunner.SampleId("tool_trace", "v1", "q", 0));
        Assert.NotEqual(id, GenerationRunner.SampleId("cot", "v2", "q", 0));
        Assert.NotEqual(id, GenerationRunner.SampleId("cot", "v1", "q2", 0));
        Assert.NotEqual(id, GenerationRunner.SampleId("cot", "v1", "q", 1));
    }

    [Fact]
    public async Task Judge_scores_accepted_samples_and_rejects_low_scores()
    {
        _server.Options.Reply = r =>
        {
            var text = r.GetRawText();
            if (!text.Contains("strict, fair evaluator", StringComparison.Ordinal)) return new ScriptedReply("Here is a full and friendly answer about " + (text.Contains("bad idea", StringComparison.Ordinal) ? "a bad idea" : "returns " + text.Length));
            return new ScriptedReply(text.Contains("bad idea", StringComparison.Ordinal) ? "{\"score\": 3, \"reason\": \"wrong\"}" : "```json\n{\"score\": 9, \"reason\": \"good\"}\n```");
        };
        List<SeedTask> seeds = [new("a", "How do returns work?"), new("b", "Is this a bad idea?"), new("c", "How long does shipping take?")];

        var result = await RunAsync(Out(), seeds, SampleKinds.Instruction, judge: true);

        Assert.Equal(2, result.Accepted);
        Assert.Equal(1, result.Rejected[LlmJudge.LowScore]);
        var (accepted, _) = await ReadAsync(Out());
        Assert.All(accepted, s => { Assert.Equal(LlmJudge.Name, s.Verifier); Assert.Equal(0.9, s.Score); });
    }

    [Theory]
    [InlineData("{\"score\": 7, \"reason\": \"ok\"}", 7)]
    [InlineData("Sure: {\"score\": 10}", 10)]
    [InlineData("{\"score\": 11}", null)]
    [InlineData("{\"score\": \"high\"}", null)]
    [InlineData("no json", null)]
    public void Judge_output_is_parsed_strictly(string content, int? expected) =>
        Assert.Equal(expected, LlmJudge.Parse(content)?.Score);

    private sealed class NoCallTeacher : ITeacher
    {
        public string Name => "none";
        public TeacherInfo Info => new("openai-compatible", "none", null);
        public Task<TeacherResponse> CompleteAsync(TeacherRequest request, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("no calls expected");
    }

    /// <summary>Reports on the reporting thread (<see cref="Progress{T}"/> would post later, after the run moved on).</summary>
    private sealed class ReportedProgress(Action<RunProgress> report) : IProgress<RunProgress>
    {
        public void Report(RunProgress value) => report(value);
    }
}
