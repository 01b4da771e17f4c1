using System.Text.Json.Nodes;
using Distill.Core.Samples;
using Distill.Data;
using Distill.Generation.Recipes;
using Distill.Generation.Runner;
using Distill.Teachers;
using Distill.Teachers.Tests;
using Distill.Teachers.Tests.FaultServer;
using Distill.World.Tasks;
using Server = Distill.Teachers.Tests.FaultServer.FaultServer;

namespace Distill.Generation.Tests.Runner;

/// <summary>Teachers as they really fail: systematic 4xx errors, refused logprobs, a hard budget, and retried rejects.</summary>
public sealed class TeacherFailureRunnerTests : IAsyncLifetime
{
    private static readonly IReadOnlyList<WorldTask> World = ScriptedWorld.Tasks(20);
    private static readonly IReadOnlyList<SeedTask> Tasks = World.Select(t => t.ToSeedTask()).ToList();
    private readonly string _dir = Directory.CreateTempSubdirectory("distill-gen-fail-").FullName;
    private readonly LogSink _logs = new();
    private Server _server = null!;

    public async Task InitializeAsync() => _server = await TestTeachers.StartServer(o => o.Reply = ScriptedWorld.Reply(World));

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private string Out => Path.Combine(_dir, "ds");

    private sealed record Run
    {
        public IReadOnlyList<SeedTask>? Tasks { get; init; }
        public string Recipe { get; init; } = SampleKinds.ToolTrace;
        public Action<TeacherOptions>? Teacher { get; init; }
        public int? Logprobs { get; init; }
        public bool LogprobsOptional { get; init; }
        public int StopAfter { get; init; } = 5;
        public IReadOnlySet<string>? RetryRejects { get; init; }
        public double? Budget { get; init; }
        public int Concurrency { get; init; } = 4;
    }

    private async Task<RunProgress> RunAsync(Run run)
    {
        var options = TestTeachers.Options(_server);
        // These tests are about what the teacher answers, not about when: a slow machine must not turn answers into timeouts.
        options.AttemptTimeout = TimeSpan.FromSeconds(60);
        options.TotalTimeout = TimeSpan.FromSeconds(120);
        run.Teacher?.Invoke(options);
        using var registry = TestTeachers.Registry(_logs, options);
        var template = ScriptedWorld.Library.Get(RecipeCatalog.DefaultTemplate(run.Recipe));
        var ledger = run.Budget is { } limit ? new BudgetLedger(limit) : null;
        var client = ledger is null ? registry.Get(options.Name) : new BudgetedTeacher(registry.Get(options.Name), ledger, WorstCaseCost.Highest([options]));
        var caching = new CachingTeacher(client, Path.Combine(_dir, "cache"), template.Version);
        var optional = run.LogprobsOptional ? new LogprobsOptionalTeacher(caching, _logs.Factory.CreateLogger("test")) : null;
        var context = ScriptedWorld.Context(optional is null ? caching : (ITeacher)optional, template.Id) with { TopLogprobs = run.Logprobs };
        var runner = new GenerationRunner(RecipeCatalog.Create(run.Recipe, context), caching, template.Version, new GenerateOptions
        {
            OutputDir = Out,
            Concurrency = run.Concurrency,
            CommitEvery = 3,
            Budget = ledger,
            StopAfterRepeatedErrors = run.StopAfter,
            RetryRejects = run.RetryRejects,
            LogprobsOptional = optional,
            Config = new JsonObject { ["recipe"] = run.Recipe },
        }, _logs.Factory.CreateLogger("test"));
        return await runner.RunAsync(run.Tasks ?? Tasks);
    }

    private async Task<(List<Sample> Accepted, List<RejectedSample> Rejected)> ReadAsync()
    {
        if (!File.Exists(Path.Combine(Out, DatasetSchema.ManifestFile))) return ([], []);
        var reader = DatasetReader.Open(Out);
        var accepted = new List<Sample>();
        await foreach (var s in reader.ReadSamplesAsync()) accepted.Add(s);
        var rejected = new List<RejectedSample>();
        await foreach (var r in reader.ReadRejectsAsync()) rejected.Add(r);
        var ids = accepted.Select(s => s.Id).Concat(rejected.Select(r => r.Sample.Id)).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count()); // one accepted row or one reject per task, never both
        return (accepted, rejected);
    }

    [Fact]
    public async Task Refused_logprobs_stop_the_run_after_N_in_a_row_commit_nothing_and_a_rerun_without_logprobs_generates_them()
    {
        _server.Options.RefuseLogprobs = true;

        var e = await Assert.ThrowsAsync<SystematicTeacherErrorException>(() => RunAsync(new Run { Logprobs = 5, StopAfter = 5 }));

        Assert.Equal(TeacherErrorKind.LogprobsRefused, e.Error.Kind);
        Assert.Contains("'primary'", e.OneLine, StringComparison.Ordinal);
        Assert.Contains("run without --logprobs", e.OneLine, StringComparison.Ordinal);
        Assert.Contains("--logprobs-optional", e.OneLine, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.OneLine);
        Assert.InRange(_server.RequestCount, 5, 5 + 4); // stopped at the 5th; at most the ones in flight followed
        var (accepted, rejected) = await ReadAsync();
        Assert.Empty(accepted);
        Assert.Empty(rejected);

        var rerun = await RunAsync(new Run());

        Assert.Equal(0, rerun.Skipped);
        Assert.Equal(Tasks.Count, rerun.Accepted + rerun.RejectedCount);
        Assert.DoesNotContain(TeacherRejectReasons.RequestRejected, rerun.Rejected.Keys);
    }

    [Fact]
    public async Task A_run_shorter_than_N_against_a_model_that_refuses_logprobs_commits_nothing_either()
    {
        _server.Options.RefuseLogprobs = true;

        var e = await Assert.ThrowsAsync<SystematicTeacherErrorException>(() => RunAsync(new Run { Tasks = Tasks.Take(3).ToList(), Logprobs = 5, StopAfter = 5 }));

        Assert.Equal(3, e.Samples);
        var (accepted, rejected) = await ReadAsync();
        Assert.Empty(accepted);
        Assert.Empty(rejected);
    }

    [Fact]
    public async Task Logprobs_optional_keeps_the_text_warns_once_and_records_the_refusal_in_the_manifest()
    {
        _server.Options.RefuseLogprobs = true;

        var result = await RunAsync(new Run { Tasks = Tasks.Take(4).ToList(), Logprobs = 5, LogprobsOptional = true });

        Assert.Equal(4, result.Accepted + result.RejectedCount);
        Assert.True(result.Accepted > 0);
        Assert.True(result.AnsweredWithoutLogprobs > 0);
        var (accepted, _) = await ReadAsync();
        Assert.All(accepted, s => Assert.All(s.Messages, m => Assert.Empty(m.Logprobs)));
        var refused = DatasetManifest.Load(Out).Config!["logprobs_refused"]!.AsObject();
        Assert.Equal("primary", refused["teacher"]!.GetValue<string>());
        Assert.Equal(result.AnsweredWithoutLogprobs, refused["answered_without_logprobs"]!.GetValue<int>());
        Assert.Single(_logs.Lines, l => l.Contains("refuses logprobs", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(Fault.ModelNotFound, TeacherProviders.OpenAICompatible)]
    [InlineData(Fault.DeploymentNotFound, TeacherProviders.AzureOpenAI)]
    public async Task A_wrong_model_name_stops_at_once_names_the_fix_and_commits_nothing(Fault fault, string provider)
    {
        _server.Options.DefaultFault = fault;

        var e = await Assert.ThrowsAsync<SystematicTeacherErrorException>(() => RunAsync(new Run
        {
            Teacher = t => { t.Provider = provider; t.Endpoint = provider == TeacherProviders.AzureOpenAI ? _server.BaseUri.ToString() : t.Endpoint; },
        }));

        Assert.Equal(TeacherErrorKind.ModelNotFound, e.Error.Kind);
        Assert.Contains("check the teacher's Model", e.OneLine, StringComparison.Ordinal);
        Assert.InRange(_server.RequestCount, 1, 4); // the first 404 stops it; only the ones already in flight were sent
        var (accepted, rejected) = await ReadAsync();
        Assert.Empty(accepted);
        Assert.Empty(rejected);
    }

    [Fact]
    public async Task An_api_version_the_resource_does_not_accept_stops_at_once_and_says_to_change_ApiVersion()
    {
        _server.Options.AzureApiVersion = "2024-06-01"; // the teacher sends 2024-10-21

        var e = await Assert.ThrowsAsync<SystematicTeacherErrorException>(() => RunAsync(new Run
        {
            Teacher = t => { t.Provider = TeacherProviders.AzureOpenAI; t.Endpoint = _server.BaseUri.ToString(); },
        }));

        Assert.Equal(TeacherErrorKind.ApiVersion, e.Error.Kind);
        Assert.Contains("ApiVersion", e.OneLine, StringComparison.Ordinal);
        var (accepted, rejected) = await ReadAsync();
        Assert.Empty(accepted);
        Assert.Empty(rejected);
    }

    [Fact]
    public async Task A_context_length_error_on_every_request_stops_after_N_and_commits_none_of_them()
    {
        _server.Options.DefaultFault = Fault.BadRequest;

        var e = await Assert.ThrowsAsync<SystematicTeacherErrorException>(() => RunAsync(new Run { StopAfter = 3, Concurrency = 2 }));

        Assert.Equal(TeacherErrorKind.ContextLength, e.Error.Kind);
        Assert.Contains("lower max_tokens", e.OneLine, StringComparison.Ordinal);
        Assert.InRange(_server.RequestCount, 3, 3 + 2);
        var (accepted, rejected) = await ReadAsync();
        Assert.Empty(accepted);
        Assert.Empty(rejected);
    }

    [Fact]
    public async Task A_context_length_error_on_one_sample_among_successes_is_committed_as_that_samples_reject()
    {
        _server.Enqueue(Fault.BadRequest);

        var result = await RunAsync(new Run { Tasks = Tasks.Take(4).ToList(), Concurrency = 1, StopAfter = 2 });

        Assert.Equal(1, result.Rejected[TeacherRejectReasons.RequestRejected]);
        Assert.Equal(4, result.Accepted + result.RejectedCount);
        var (accepted, rejected) = await ReadAsync();
        Assert.Equal(4, accepted.Count + rejected.Count);
    }

    [Fact]
    public async Task Spending_never_passes_the_budget_under_concurrency_16_with_a_cost_that_varies_per_call()
    {
        _server.Options.Reply = null;
        _server.Options.Content = "You can return any item within thirty days of delivery for a full refund to the card you paid with";
        _server.Options.CompletionWords = (5, 600); // instruction-basic has max_tokens 512: some calls are cut there
        var seeds = Enumerable.Range(0, 80).Select(i => new SeedTask($"s{i}", $"Question {i}: how do returns work? " + new string('x', i * 13))).ToList();
        const double budget = 1.0;

        var result = await RunAsync(new Run
        {
            Tasks = seeds, Recipe = SampleKinds.Instruction, Budget = budget, Concurrency = 16,
            Teacher = t => { t.InputPricePer1M = 40; t.OutputPricePer1M = 400; },
        });

        Assert.True(result.BudgetReached);
        Assert.True(result.CostUsd <= budget, $"spent {result.CostUsd}");
        var account = result.Budget!;
        Assert.True(account.SpentUsd <= budget, $"ledger spent {account.SpentUsd}");
        Assert.Equal(result.CostUsd, account.SpentUsd, 9);
        Assert.Equal(0, account.Overruns);
        Assert.True(account.ReleasedUsd > 0);
        Assert.InRange(account.SpentShareOfWorstCase!.Value, 0.01, 1.0);
        Assert.True(account.SpentUsd > budget / 2, $"stopped early at {account.SpentUsd}");
        Assert.InRange(_server.Requests.Select(r => r.Body).Distinct().Count(), 2, seeds.Count - 1);
    }

    [Fact]
    public async Task Retry_rejects_replaces_each_retried_reject_with_its_new_outcome_and_records_the_attempts()
    {
        _server.Options.DefaultFault = Fault.Length;
        var tasks = Tasks.Take(6).ToList();
        var first = await RunAsync(new Run { Tasks = tasks });
        Assert.Equal(6, first.Rejected[TeacherRejectReasons.Truncated]);
        _server.Options.DefaultFault = Fault.None;

        var plainRerun = await RunAsync(new Run { Tasks = tasks });
        var retry = await RunAsync(new Run { Tasks = tasks, RetryRejects = new HashSet<string>() });

        Assert.Equal(6, plainRerun.Skipped); // without --retry-rejects committed rejects stay
        Assert.Equal(6, retry.RetriedRejects);
        Assert.Equal(0, retry.Skipped);
        var (accepted, rejected) = await ReadAsync();
        Assert.Equal(6, accepted.Count + rejected.Count);
        Assert.Equal(retry.Accepted, accepted.Count);
        Assert.True(accepted.Count > 0, "the retries are new requests, not the cached truncated responses");
        var attempts = DatasetManifest.Load(Out).Attempts!;
        Assert.Equal(6, attempts.Count);
        Assert.All(attempts.Values, history =>
        {
            Assert.Equal([1, 2], history.Select(a => a.Number));
            Assert.Equal(SampleAttempt.Rejected, history[0].Outcome);
            Assert.Equal(TeacherRejectReasons.Truncated, history[0].Reason);
        });
        Assert.Equal(accepted.Count, attempts.Values.Count(h => h[1].Outcome == SampleAttempt.Accepted));
        Assert.Equal(6, DatasetManifest.Load(Out).Counts.Accepted + DatasetManifest.Load(Out).Counts.Rejected);
    }

    [Fact]
    public async Task Retry_rejects_of_named_reasons_leaves_the_other_rejects_alone()
    {
        var tasks = Tasks.Take(4).ToList();
        _server.Enqueue(Fault.Length, Fault.ContentFilter);
        var first = await RunAsync(new Run { Tasks = tasks, Concurrency = 1 });
        Assert.Equal((1, 1), (first.Rejected[TeacherRejectReasons.Truncated], first.Rejected[TeacherRejectReasons.ContentFilter]));

        var retry = await RunAsync(new Run { Tasks = tasks, RetryRejects = new HashSet<string> { TeacherRejectReasons.Truncated } });

        Assert.Equal(1, retry.RetriedRejects);
        var (accepted, rejected) = await ReadAsync();
        Assert.Equal(4, accepted.Count + rejected.Count);
        Assert.Equal([TeacherRejectReasons.ContentFilter], rejected.Select(r => r.RejectReason));
        Assert.Single(DatasetManifest.Load(Out).Attempts!);
    }
}
