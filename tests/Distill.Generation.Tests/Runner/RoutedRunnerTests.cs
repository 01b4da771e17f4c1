using System.Text.Json.Nodes;
using Distill.Core.Samples;
using Distill.Data;
using Distill.Generation.Recipes;
using Distill.Generation.Routing;
using Distill.Generation.Runner;
using Distill.Teachers;
using Distill.Teachers.Tests;
using Distill.World.Tasks;
using Xunit.Abstractions;
using Server = Distill.Teachers.Tests.FaultServer.FaultServer;

namespace Distill.Generation.Tests.Runner;

/// <summary>Multi-teacher routing: tasks routed by tier to three fake teachers, per-teacher stats and budgets, fallbacks, resume.</summary>
public sealed class RoutedRunnerTests(ITestOutputHelper log) : IAsyncLifetime
{
    private static readonly IReadOnlyList<WorldTask> World = ScriptedWorld.Tasks(30);
    private static readonly IReadOnlyList<SeedTask> Tasks = World.Select(t => t.ToSeedTask()).ToList();
    private static readonly Dictionary<string, string> ModelOf = new() { ["cheap"] = "cheap-model", ["mid"] = "mid-model", ["strong"] = "strong-model" };
    private readonly string _dir = Directory.CreateTempSubdirectory("distill-gen-route-").FullName;
    private readonly LogSink _logs = new();
    private Server _server = null!;

    public async Task InitializeAsync() => _server = await TestTeachers.StartServer(o => o.Reply = ScriptedWorld.Reply(World));

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private string Out => Path.Combine(_dir, "ds");

    private static TeacherRoutingOptions ByTier() => new()
    {
        Field = "tier",
        Routes = new() { ["T0"] = "cheap", ["T1"] = "cheap", ["T2"] = "mid" },
        Default = "strong",
    };

    /// <summary>The teacher <see cref="ByTier"/> gives a task of <paramref name="tier"/>.</summary>
    private static string TeacherOfTier(string tier) => ByTier().Routes.GetValueOrDefault(tier) ?? "strong";

    private TeacherOptions Teacher(string name, Action<TeacherOptions>? configure = null)
    {
        var o = TestTeachers.Options(_server, name);
        o.Model = ModelOf[name];
        // What the teacher answers matters here, not when: a slow machine must not turn answers into timeouts.
        o.AttemptTimeout = TimeSpan.FromSeconds(60);
        o.TotalTimeout = TimeSpan.FromSeconds(120);
        configure?.Invoke(o);
        return o;
    }

    private IReadOnlyList<TeacherOptions> Three(Action<TeacherOptions>? configure = null) =>
        new[] { "cheap", "mid", "strong" }.Select(n => Teacher(n, configure)).ToList();

    /// <summary>Composes a routed run as <c>distill generate --routing</c> does: per-teacher budgets inside the fallback chain, the total outside.</summary>
    private async Task<RunProgress> RunAsync(IReadOnlyList<TeacherOptions> teachers, IReadOnlyList<SeedTask>? tasks = null, string recipe = SampleKinds.ToolTrace,
        double? total = null, int concurrency = 4, IProgress<RunProgress>? progress = null, CancellationToken ct = default)
    {
        tasks ??= Tasks;
        using var registry = TestTeachers.Registry(_logs, [.. teachers]);
        var template = ScriptedWorld.Library.Get(RecipeCatalog.DefaultTemplate(recipe));
        var router = TaskRouter.Create("by-tier", ByTier(), teachers.Select(t => t.Name).ToList(), recipe, new Dictionary<string, object?>(), tasks);
        var own = teachers.Where(t => t.BudgetUsd is not null).ToDictionary(t => t.Name, t => new BudgetLedger(t.BudgetUsd!.Value));
        var ledger = total is { } limit ? new BudgetLedger(limit) : null;
        var routes = router.TeachersOf(tasks).Select(name =>
        {
            ITeacher client = registry.Get(name, (n, c) => own.TryGetValue(n, out var l) ? new BudgetedTeacher(c, l, WorstCaseCost.Highest([registry.OptionsOf(n)]), "BudgetUsd") : c);
            if (ledger is not null) client = new BudgetedTeacher(client, ledger, WorstCaseCost.Highest(teachers));
            var caching = new CachingTeacher(client, Path.Combine(_dir, "cache"), template.Version);
            return new TeacherRoute { Teacher = name, Recipe = RecipeCatalog.Create(recipe, ScriptedWorld.Context(caching, template.Id)), Cache = caching, Budget = own.GetValueOrDefault(name) };
        }).ToList();
        var runner = new GenerationRunner(router, routes, template.Version, new GenerateOptions
        {
            OutputDir = Out,
            Concurrency = concurrency,
            CommitEvery = 3,
            Budget = ledger,
            Config = new JsonObject { ["recipe"] = recipe },
        }, _logs.Factory.CreateLogger("test"));
        return await runner.RunAsync(tasks, progress, ct);
    }

    private async Task<(List<Sample> Accepted, List<RejectedSample> Rejected)> ReadAsync()
    {
        var reader = DatasetReader.Open(Out);
        var accepted = new List<Sample>();
        await foreach (var s in reader.ReadSamplesAsync()) accepted.Add(s);
        var rejected = new List<RejectedSample>();
        await foreach (var r in reader.ReadRejectsAsync()) rejected.Add(r);
        var ids = accepted.Select(s => s.Id).Concat(rejected.Select(r => r.Sample.Id)).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count()); // one accepted row or one reject per task, never both
        return (accepted, rejected);
    }

    private static string TierOf(Sample s) => World.First(t => t.Question == s.SeedInput).Tier;

    [Fact]
    public async Task Routing_across_three_teachers_by_tier_puts_each_tasks_row_under_its_teacher()
    {
        var result = await RunAsync(Three());

        var (accepted, rejected) = await ReadAsync();
        var rows = accepted.Concat(rejected.Select(r => r.Sample)).ToList();
        Assert.Equal(Tasks.Count, rows.Count);
        Assert.All(rows, s => Assert.Equal(ModelOf[TeacherOfTier(TierOf(s))], s.Teacher!.Model));
        Assert.Equal(3, rows.Select(s => s.Teacher!.Model).Distinct().Count());
        Assert.Equal(["cheap", "mid", "strong"], result.Teachers.Select(t => t.Teacher).Order());
        foreach (var t in result.Teachers)
        {
            Assert.Equal(World.Count(w => TeacherOfTier(w.Tier) == t.Teacher), t.Tasks);
            Assert.Equal(t.Tasks, t.Accepted + t.Rejected);
            Assert.Equal(rows.Count(s => s.Teacher!.Model == ModelOf[t.Teacher]), t.Accepted + t.Rejected);
        }
        Assert.Equal(result.CostUsd, result.Teachers.Sum(t => t.CostUsd), 9);
        // The teacher asked is the one the row names: every request to the server carried its route's model.
        Assert.Equal(ModelOf.Values.Order(), _server.Requests.Select(r => System.Text.Json.JsonDocument.Parse(r.Body).RootElement.GetProperty("model").GetString()!).Distinct().Order());
    }

    [Fact]
    public async Task Dataset_stats_break_down_count_and_cost_per_accepted_sample_by_teacher()
    {
        var result = await RunAsync(Three(t => t.OutputPricePer1M = t.Name == "strong" ? 60 : t.Name == "mid" ? 6 : 0.6));

        var stats = await DatasetStatistics.ComputeAsync(DatasetReader.Open(Out));
        var (accepted, rejected) = await ReadAsync();

        Assert.Equal(3, stats.CostByTeacher!.Count);
        foreach (var t in result.Teachers)
        {
            var key = $"{TeacherProviders.OpenAICompatible}/{ModelOf[t.Teacher]}";
            var mine = accepted.Where(s => s.Teacher!.Model == ModelOf[t.Teacher]).ToList();
            var mineRejected = rejected.Where(r => r.Sample.Teacher!.Model == ModelOf[t.Teacher]).ToList();
            var cost = stats.CostByTeacher[key];
            Assert.Equal(mine.Count, cost.Accepted);
            Assert.Equal(mineRejected.Count, cost.Rejected);
            Assert.Equal(mine.Count, stats.ByTeacher[key]);
            Assert.Equal(mine.Sum(s => s.CostUsd) + mineRejected.Sum(r => r.Sample.CostUsd), cost.TotalCostUsd, 9);
            Assert.Equal(t.CostUsd, cost.TotalCostUsd, 9); // what the run paid for this teacher is what its rows record
            Assert.Equal(cost.TotalCostUsd / cost.Accepted, cost.CostPerAcceptedSample, 12);
        }
        Assert.Equal(stats.TotalCostUsd, stats.CostByTeacher.Values.Sum(c => c.TotalCostUsd), 9);
        var perAccepted = result.Teachers.ToDictionary(t => t.Teacher, t => t.CostPerAccepted!.Value);
        Assert.True(perAccepted["strong"] > perAccepted["mid"] && perAccepted["mid"] > perAccepted["cheap"], string.Join(", ", perAccepted));
    }

    [Fact]
    public async Task A_teachers_own_budget_is_never_passed_under_concurrency_16_and_stops_only_its_tasks()
    {
        _server.Options.Reply = null;
        _server.Options.Content = "You can return any item within thirty days of delivery for a full refund to the card you paid with";
        _server.Options.CompletionWords = (5, 600); // instruction-basic has max_tokens 512: some calls are cut there
        var seeds = Enumerable.Range(0, 90).Select(i => new SeedTask($"s{i}", $"Question {i}: how do returns work? " + new string('x', i * 13),
            Tags: new Dictionary<string, string> { ["tier"] = i % 2 == 0 ? "T0" : "T3" })).ToList();
        const double strongBudget = 0.5;
        var teachers = Three(t =>
        {
            if (t.Name != "strong") return;
            (t.InputPricePer1M, t.OutputPricePer1M, t.BudgetUsd) = (40, 400, strongBudget);
        });

        var result = await RunAsync(teachers, seeds, SampleKinds.Instruction, concurrency: 16);

        var strong = result.Teachers.Single(t => t.Teacher == "strong");
        var cheap = result.Teachers.Single(t => t.Teacher == "cheap");
        log.WriteLine(string.Join("\n", result.Teachers));
        Assert.False(result.BudgetReached); // no total budget: the run did not stop, one teacher did
        Assert.True(strong.Budget!.Exhausted);
        Assert.True(strong.Budget.SpentUsd <= strongBudget, $"ledger spent {strong.Budget.SpentUsd}");
        Assert.True(strong.CostUsd <= strongBudget, $"spent {strong.CostUsd}");
        Assert.Equal(strong.CostUsd, strong.Budget.SpentUsd, 9);
        Assert.Equal(0, strong.Budget.Overruns);
        Assert.True(strong.Budget.SpentUsd > strongBudget / 2, $"stopped early at {strong.Budget.SpentUsd}");
        Assert.True(strong.Uncommitted > 0);
        Assert.Equal(strong.Tasks, strong.Accepted + strong.Rejected + strong.Uncommitted);
        Assert.Equal(45, cheap.Tasks);
        Assert.Equal(cheap.Tasks, cheap.Accepted + cheap.Rejected); // the cheap teacher's tasks all went on
        Assert.Equal(strong.Uncommitted, result.Uncommitted[BudgetExhaustedException.Reason]);
        var (accepted, rejected) = await ReadAsync();
        Assert.Equal(strong.Accepted + strong.Rejected, accepted.Count(s => s.Teacher!.Model == "strong-model") + rejected.Count(r => r.Sample.Teacher!.Model == "strong-model"));
        Assert.Contains(_logs.Lines, l => l.Contains("teacher strong's own budget", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_total_budget_still_caps_the_whole_routed_run()
    {
        var result = await RunAsync(Three(t => t.InputPricePer1M = 40), total: 0.3, concurrency: 1);

        Assert.True(result.BudgetReached);
        Assert.True(result.Budget!.SpentUsd <= 0.3);
        Assert.InRange(result.CostUsd, 0.01, 0.3);
        var (accepted, rejected) = await ReadAsync();
        Assert.InRange(accepted.Count + rejected.Count, 1, Tasks.Count - 1);
    }

    [Fact]
    public async Task A_routed_teacher_that_is_down_falls_back_and_the_rows_name_the_teacher_that_answered()
    {
        var teachers = Three(t =>
        {
            if (t.Name != "cheap") return;
            t.Endpoint = "http://127.0.0.1:9/v1"; // nothing listens: every attempt fails, so the fallback answers
            t.MaxRetries = 0;
            t.FallbackTeacher = "mid";
        });

        var result = await RunAsync(teachers);

        var (accepted, rejected) = await ReadAsync();
        var rows = accepted.Concat(rejected.Select(r => r.Sample)).ToList();
        Assert.Equal(Tasks.Count, rows.Count);
        Assert.All(rows.Where(s => TeacherOfTier(TierOf(s)) == "cheap"), s => Assert.Equal("mid-model", s.Teacher!.Model));
        Assert.All(rows.Where(s => TeacherOfTier(TierOf(s)) == "strong"), s => Assert.Equal("strong-model", s.Teacher!.Model));
        var cheap = result.Teachers.Single(t => t.Teacher == "cheap");
        Assert.True(cheap.Tasks > 0);
        Assert.Equal(cheap.Tasks, cheap.Accepted + cheap.Rejected); // routed to cheap, answered by its fallback
    }

    [Fact]
    public async Task A_resumed_routed_run_loses_and_duplicates_nothing_and_each_task_keeps_its_teacher()
    {
        _server.Options.Latency = TimeSpan.FromMilliseconds(30);
        using var cts = new CancellationTokenSource();
        var stopAtSix = new SyncProgress(p => { if (p.Accepted + p.RejectedCount >= 6) cts.Cancel(); });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => RunAsync(Three(), concurrency: 2, progress: stopAtSix, ct: cts.Token));
        var (before, beforeRejects) = await ReadAsync();
        var idsBefore = before.Select(s => s.Id).Concat(beforeRejects.Select(r => r.Sample.Id)).ToList();
        Assert.InRange(idsBefore.Count, 6, Tasks.Count - 1);
        _server.Options.Latency = TimeSpan.Zero;

        var resumed = await RunAsync(Three());

        Assert.Equal(idsBefore.Count, resumed.Skipped);
        var (accepted, rejected) = await ReadAsync();
        var rows = accepted.Concat(rejected.Select(r => r.Sample)).ToList();
        Assert.Equal(Tasks.Count, rows.Count);
        Assert.Subset(rows.Select(s => s.Id).ToHashSet(), idsBefore.ToHashSet());
        Assert.All(rows, s => Assert.Equal(ModelOf[TeacherOfTier(TierOf(s))], s.Teacher!.Model));
    }

    /// <summary>Reports synchronously (under the runner's commit lock), so a test can stop a run at an exact count.</summary>
    private sealed class SyncProgress(Action<RunProgress> report) : IProgress<RunProgress>
    {
        public void Report(RunProgress value) => report(value);
    }
}
