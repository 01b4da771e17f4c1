using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Distill.Core.Samples;
using Distill.Data;
using Distill.Generation.Quality;
using Distill.Generation.Recipes;
using Distill.Generation.Routing;
using Distill.Teachers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Distill.Generation.Runner;

/// <summary>Settings of one <c>distill generate</c> run (everything but the recipe and the teacher).</summary>
public sealed record GenerateOptions
{
    public required string OutputDir { get; init; }
    public int Concurrency { get; init; } = 4;
    public int ShardIndex { get; init; }
    public int ShardCount { get; init; } = 1;

    /// <summary>
    /// The hard spending cap (<c>--budget-usd</c>): the same ledger the teacher's <see cref="BudgetedTeacher"/> reserves from.
    /// The run starts no sample once it is exhausted.
    /// </summary>
    public BudgetLedger? Budget { get; init; }

    /// <summary>The same request error this many samples in a row stops the run (<see cref="SystematicErrorGuard{T}"/>).</summary>
    public int StopAfterRepeatedErrors { get; init; } = 5;

    /// <summary>
    /// <c>--retry-rejects</c>: committed rejects of these reasons (all when empty) are generated again as new attempts;
    /// null retries none.
    /// </summary>
    public IReadOnlySet<string>? RetryRejects { get; init; }

    /// <summary><c>--logprobs-optional</c>: the teacher wrapper whose refusals the manifest records (one-teacher runs; a routed run sets it per <see cref="TeacherRoute"/>).</summary>
    public LogprobsOptionalTeacher? LogprobsOptional { get; init; }

    /// <summary>Rows per committed shard: the most a crash can lose (it is regenerated, or re-read from the cache, on resume).</summary>
    public int CommitEvery { get; init; } = 100;

    public QualityOptions Quality { get; init; } = new();

    /// <summary>Optional LLM-as-judge run on every sample the recipe accepts (one-teacher runs; a routed run sets it per <see cref="TeacherRoute"/>).</summary>
    public LlmJudge? Judge { get; init; }

    /// <summary>Judge scores below this (1-10) are rejected as low_judge_score.</summary>
    public int MinJudgeScore { get; init; } = 1;

    /// <summary>Generation config snapshot for the manifest; must hold no secrets.</summary>
    public JsonObject? Config { get; init; }
}

/// <summary>Counts of a run so far: what the progress display and the summary show.</summary>
public sealed record RunProgress(
    int Total, int Skipped, int Accepted, IReadOnlyDictionary<string, int> Rejected,
    long PromptTokens, long CompletionTokens, double CostUsd, int TeacherCalls, int CacheHits, TimeSpan Elapsed,
    bool BudgetReached = false)
{
    /// <summary>Samples not written because their failure is not the sample's (teacher down, not in the cache): a resumed run retries them.</summary>
    public IReadOnlyDictionary<string, int> Uncommitted { get; init; } = new Dictionary<string, int>();

    /// <summary>Committed rejects this run generated again (<c>--retry-rejects</c>).</summary>
    public int RetriedRejects { get; init; }

    /// <summary>The budget's account (spent, held, released, the worst-case estimate's error); null without a budget.</summary>
    public BudgetSnapshot? Budget { get; init; }

    /// <summary>Requests answered without the logprobs asked for (<c>--logprobs-optional</c> after a refusal).</summary>
    public int AnsweredWithoutLogprobs { get; init; }

    /// <summary>Each teacher's share of the run, one per route (a one-teacher run has one).</summary>
    public IReadOnlyList<TeacherProgress> Teachers { get; init; } = [];

    /// <summary>Teachers whose own budget (<c>BudgetUsd</c>) ran out: their remaining tasks are left for the next run.</summary>
    public IEnumerable<TeacherProgress> TeachersOutOfBudget => Teachers.Where(t => t.Budget?.Exhausted == true);

    public int RejectedCount => Rejected.Values.Sum();
    public int UncommittedCount => Uncommitted.Values.Sum();
    public int Done => Accepted + RejectedCount + UncommittedCount;
    public int Remaining => Math.Max(0, Total - Skipped - Done);
    public double RatePerSecond => Elapsed.TotalSeconds > 0 ? Done / Elapsed.TotalSeconds : 0;
    public TimeSpan? Eta => RatePerSecond > 0 ? TimeSpan.FromSeconds(Remaining / RatePerSecond) : null;
    public double? CostPerAccepted => Accepted > 0 ? CostUsd / Accepted : null;
}

/// <summary>
/// The resumable generation loop, and nothing else: deterministic sample ids, skip what is committed, run the recipe with bounded
/// concurrency, filter (length, dedup, near-dup), write accepted rows and rejects, stop at the budget or on cancellation with
/// everything finished so far committed. Recipes own prompts, calls and parsing; <see cref="CachingTeacher"/> owns the cache.
/// </summary>
public sealed class GenerationRunner
{
    private readonly TaskRouter _router;
    private readonly IReadOnlyDictionary<string, TeacherRoute> _routes;
    private readonly string _recipe;
    private readonly string _templateVersion;
    private readonly GenerateOptions _options;
    private readonly ILogger _log;

    /// <summary>One teacher for every task; its judge and logprobs-optional wrapper come from <paramref name="options"/>.</summary>
    public GenerationRunner(IRecipe recipe, CachingTeacher teacher, string templateVersion, GenerateOptions options, ILogger? logger = null)
        : this(TaskRouter.Single(teacher.Name),
            [new TeacherRoute { Teacher = teacher.Name, Recipe = recipe, Cache = teacher, Judge = options.Judge, LogprobsOptional = options.LogprobsOptional }],
            templateVersion, options, logger)
    {
    }

    /// <summary>
    /// Each task to the teacher <paramref name="router"/> names, through that teacher's route (its recipe, cache, budget, judge);
    /// every route runs the same recipe, so sample ids, and with them resume and dedup, do not depend on the teacher.
    /// </summary>
    public GenerationRunner(TaskRouter router, IReadOnlyList<TeacherRoute> routes, string templateVersion, GenerateOptions options, ILogger? logger = null)
    {
        if (routes.Count == 0) throw new ArgumentException("a run needs at least one route", nameof(routes));
        if (routes.Select(r => r.Recipe.Name).Distinct(StringComparer.Ordinal).Count() > 1)
            throw new ArgumentException("every route of a run runs the same recipe", nameof(routes));
        _router = router;
        _routes = routes.ToDictionary(r => r.Teacher, StringComparer.Ordinal);
        _recipe = routes[0].Recipe.Name;
        _templateVersion = templateVersion;
        _options = options;
        _log = logger ?? NullLogger.Instance;
    }

    /// <summary>Reject reasons that say nothing about the sample, so it is left uncommitted and retried by the next run.</summary>
    public static readonly IReadOnlySet<string> RetryOnResume = new HashSet<string>(StringComparer.Ordinal)
    {
        TeacherRejectReasons.Unavailable, NotCachedException.Reason, BudgetExhaustedException.Reason,
    };

    /// <summary>
    /// The index a recipe derives its sampling seeds from: the sample index for the first attempt, a different one for each
    /// retry, so a retried reject is a new sample (and a new request, never the cached response of the attempt that failed).
    /// </summary>
    public static int SeedIndex(int index, int attempt) => attempt <= 1 ? index : unchecked(index + (attempt - 1) * 100_000_007);

    /// <summary>Hash of recipe, template version, seed input and sample index: the resume and dedup key.</summary>
    public static string SampleId(string recipe, string templateVersion, string seedInput, int index) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{recipe}\n{templateVersion}\n{seedInput}\n{index}")))[..32];

    /// <summary>The tasks this worker owns (<c>--shard i/n</c>: every n-th, from i), with their global index and sample id.</summary>
    public IReadOnlyList<(SeedTask Task, int Index, string Id)> Plan(IReadOnlyList<SeedTask> tasks) =>
        tasks.Select((t, i) => (Task: t, Index: i, Id: SampleId(_recipe, _templateVersion, t.Input, i)))
            .Where(x => x.Index % _options.ShardCount == _options.ShardIndex)
            .ToList();

    public async Task<RunProgress> RunAsync(IReadOnlyList<SeedTask> tasks, IProgress<RunProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var options = _options;
        var clock = Stopwatch.StartNew();
        var plan = Plan(tasks);
        var filter = new QualityFilter(options.Quality);
        if (File.Exists(Path.Combine(options.OutputDir, DatasetSchema.ManifestFile)))
        {
            await foreach (var existing in DatasetReader.Open(options.OutputDir).ReadSamplesAsync(cancellationToken).ConfigureAwait(false))
            {
                filter.Seed(existing);
            }
        }

        await using var writer = await DatasetWriter.OpenAsync(options.OutputDir, new DatasetWriterOptions
        {
            ShardRows = Math.Max(1, options.CommitEvery),
            WorkerTag = options.ShardCount > 1 ? DatasetWriterOptions.WorkerTagFor(options.ShardIndex, options.ShardCount) : null,
            Config = options.Config,
        }, cancellationToken).ConfigureAwait(false);

        var attempts = options.RetryRejects is { } reasons
            ? await RejectRetries.SelectAsync(options.OutputDir, plan.Select(p => p.Id).ToHashSet(StringComparer.Ordinal), reasons, cancellationToken).ConfigureAwait(false)
            : new Dictionary<string, int>();
        foreach (var id in attempts.Keys) writer.Retry(id);
        var pending = plan.Where(p => !writer.IsCommitted(p.Id))
            .Select(p => (p.Task, p.Index, p.Id, Route: RouteOf(p.Task)))
            .ToList();
        var skipped = plan.Count - pending.Count;
        _log.LogInformation("generate: {Total} tasks for this worker, {Skipped} already committed, {Pending} to do ({Retried} of them retried rejects)",
            plan.Count, skipped, pending.Count, attempts.Count);
        if (_routes.Count > 1)
            _log.LogInformation("generate: routed by {Field}: {Shares}", _router.Field?.Text,
                string.Join(", ", pending.GroupBy(p => p.Route.Teacher).Select(g => $"{g.Count()} to {g.Key}")));

        var gate = new SemaphoreSlim(1, 1);
        var accepted = 0;
        var rejected = new Dictionary<string, int>(StringComparer.Ordinal);
        var uncommitted = new Dictionary<string, int>(StringComparer.Ordinal);
        var byTeacher = _routes.Keys.ToDictionary(t => t, t => new TeacherCounts { Tasks = pending.Count(p => p.Route.Teacher == t) }, StringComparer.Ordinal);
        var budgetReached = false;
        // One guard per teacher: another teacher's successes must not hide that this one fails every request the same way.
        var guards = _routes.Keys.ToDictionary(t => t, _ => new SystematicErrorGuard<RejectedSample>(options.StopAfterRepeatedErrors), StringComparer.Ordinal);
        var fatalLock = new Lock();
        TeacherRequestException? fatal = null;
        var fatalSamples = 0;
        var failedAfterStop = 0;
        bool Stopping() => fatal is not null || guards.Values.Any(g => g.Tripped is not null);

        RunProgress Snapshot()
        {
            var caches = _routes.Values.Select(r => r.Cache).Distinct().ToList();
            var usage = caches.Select(c => c.Meter.Total).ToList();
            return new RunProgress(plan.Count, skipped, accepted, new Dictionary<string, int>(rejected), usage.Sum(u => u.PromptTokens), usage.Sum(u => u.CompletionTokens),
                usage.Sum(u => u.CostUsd), caches.Sum(c => c.TeacherCalls), caches.Sum(c => c.CacheHits), clock.Elapsed, budgetReached)
            {
                Uncommitted = new Dictionary<string, int>(uncommitted),
                RetriedRejects = attempts.Count,
                Budget = options.Budget?.Snapshot(),
                AnsweredWithoutLogprobs = _routes.Values.Sum(r => r.LogprobsOptional?.AnsweredWithoutLogprobs ?? 0),
                Teachers = _routes.Values.Select(r => byTeacher[r.Teacher].Progress(r)).ToList(),
            };
        }

        async Task CommitRejectsAsync(IEnumerable<RejectedSample> samples, TeacherCounts counts)
        {
            foreach (var r in samples)
            {
                await writer.RejectAsync(r, CancellationToken.None).ConfigureAwait(false);
                rejected[r.RejectReason] = rejected.GetValueOrDefault(r.RejectReason) + 1;
                counts.Rejected++;
            }
        }

        try
        {
            await Parallel.ForEachAsync(pending, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Concurrency), CancellationToken = cancellationToken },
                async (item, ct) =>
                {
                    if (Stopping()) return;
                    if (budgetReached || options.Budget?.Exhausted == true)
                    {
                        budgetReached = true;
                        return;
                    }
                    var route = item.Route;
                    var counts = byTeacher[route.Teacher];
                    var guard = guards[route.Teacher];
                    RecipeResult? result = null;
                    // A teacher whose own budget is spent takes no more tasks; the other teachers' tasks go on.
                    if (route.Budget?.Exhausted != true)
                    {
                        try
                        {
                            result = await route.Recipe.RunAsync(item.Task, item.Id, SeedIndex(item.Index, attempts.GetValueOrDefault(item.Id, 1)), ct).ConfigureAwait(false);
                            if (result.Accepted && route.Judge is { } judge) result = await JudgeAsync(judge, result, item.Task, ct).ConfigureAwait(false);
                        }
                        catch (TeacherRequestException e) when (e.IsFatal)
                        {
                            // Bad key, no access, wrong deployment: no request can succeed. Stop, and commit nothing for it.
                            lock (fatalLock) { fatal ??= e; fatalSamples++; }
                            return;
                        }
                    }
                    await gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
                    try
                    {
                        if (result is null)
                        {
                            uncommitted[BudgetExhaustedException.Reason] = uncommitted.GetValueOrDefault(BudgetExhaustedException.Reason) + 1;
                            counts.Uncommitted++;
                            progress?.Report(Snapshot());
                            return;
                        }
                        var reason = result.RejectReason ?? filter.Admit(result.Sample);
                        if (reason == BudgetExhaustedException.Reason && options.Budget?.Exhausted == true) budgetReached = true;
                        var requestError = reason is null ? null : RequestError(result);
                        if (reason is not null && (RetryOnResume.Contains(reason) || requestError is not null && Stopping()))
                        {
                            uncommitted[reason] = uncommitted.GetValueOrDefault(reason) + 1;
                            counts.Uncommitted++;
                            if (requestError is not null && guards.Values.Any(g => g.Tripped is not null)) failedAfterStop++;
                        }
                        else if (requestError is not null)
                        {
                            await CommitRejectsAsync(guard.Failed(requestError, new RejectedSample(result.Sample, reason!)), counts).ConfigureAwait(false);
                        }
                        else
                        {
                            await CommitRejectsAsync(guard.Passed(), counts).ConfigureAwait(false);
                            if (reason is null)
                            {
                                await writer.AppendAsync(result.Sample, CancellationToken.None).ConfigureAwait(false);
                                accepted++;
                                counts.Accepted++;
                            }
                            else
                            {
                                await CommitRejectsAsync([new RejectedSample(result.Sample, reason)], counts).ConfigureAwait(false);
                            }
                        }
                        progress?.Report(Snapshot());
                    }
                    finally
                    {
                        gate.Release();
                    }
                }).ConfigureAwait(false);
            foreach (var (teacher, guard) in guards) await CommitRejectsAsync(guard.Finish(), byTeacher[teacher]).ConfigureAwait(false);
        }
        finally
        {
            // Ctrl+C, a fatal teacher error or the end: commit everything finished, whatever happened.
            if (LogprobsRefused() is { } refused) writer.SetConfigValue("logprobs_refused", refused);
            await writer.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        }
        if (fatal is not null) throw new SystematicTeacherErrorException(fatal, fatalSamples);
        if (guards.Values.FirstOrDefault(g => g.Tripped is not null) is { Tripped: { } systematic } tripped)
            throw new SystematicTeacherErrorException(systematic, tripped.HeldCount + failedAfterStop);
        if (budgetReached)
        {
            _log.LogWarning("generate: budget of {Budget} USD reached; stopped with everything so far committed", options.Budget?.LimitUsd);
        }
        foreach (var route in _routes.Values.Where(r => r.Budget?.Exhausted == true))
        {
            _log.LogWarning("generate: teacher {Teacher}'s own budget of {Budget} USD reached; its {Left} tasks not done are left for the next run, the other teachers' went on",
                route.Teacher, route.Budget!.LimitUsd, byTeacher[route.Teacher].Uncommitted);
        }
        var final = Snapshot();
        progress?.Report(final);
        return final;
    }

    private TeacherRoute RouteOf(SeedTask task)
    {
        var teacher = _router.TeacherFor(task);
        return _routes.TryGetValue(teacher, out var route) ? route
            : throw new InvalidOperationException($"task '{task.Id}' routes to teacher '{teacher}', which has no route in this run");
    }

    /// <summary>
    /// The manifest's record of logprob refusals (<c>--logprobs-optional</c>): the teacher(s) that refused and how many requests
    /// were answered without logprobs, per teacher when more than one refused; null when none did.
    /// </summary>
    private JsonObject? LogprobsRefused()
    {
        var refusing = _routes.Values.Where(r => r.LogprobsOptional is { Refusals: > 0 }).ToList();
        if (refusing.Count == 0) return null;
        var record = new JsonObject
        {
            ["teacher"] = string.Join(", ", refusing.Select(r => r.LogprobsOptional!.Name)),
            ["answered_without_logprobs"] = refusing.Sum(r => r.LogprobsOptional!.AnsweredWithoutLogprobs),
        };
        if (refusing.Count > 1)
        {
            var by = new JsonObject();
            foreach (var r in refusing) by[r.LogprobsOptional!.Name] = r.LogprobsOptional.AnsweredWithoutLogprobs;
            record["by_teacher"] = by;
        }
        return record;
    }

    /// <summary>
    /// The request error that rejected the sample, when it can be systematic: a 4xx other than the content filter (a filtered
    /// prompt says something about the sample, not the configuration).
    /// </summary>
    private static TeacherRequestException? RequestError(RecipeResult result) =>
        result.TeacherError is TeacherRequestException { Kind: not TeacherErrorKind.ContentFilter } e ? e : null;

    /// <summary>The judge's score goes on the row when the recipe had no verifier of its own; a low score or a failed judge rejects.</summary>
    private async Task<RecipeResult> JudgeAsync(LlmJudge judge, RecipeResult result, SeedTask task, CancellationToken ct)
    {
        var (verdict, reason) = await judge.ScoreAsync(result.Sample, task, ct).ConfigureAwait(false);
        if (verdict is null) return result with { RejectReason = reason };
        var sample = result.Sample.Verifier is null
            ? result.Sample with { Verifier = LlmJudge.Name, Score = verdict.Score / 10.0, Verified = verdict.Score >= _options.MinJudgeScore }
            : result.Sample;
        return new RecipeResult(sample, verdict.Score < _options.MinJudgeScore ? LlmJudge.LowScore : null);
    }
}

/// <summary>What a run would cost, from rendering every prompt without calling the teacher.</summary>
public sealed record DryRunEstimate(int Samples, int Calls, long PromptTokens, long MaxCompletionTokens, double CostUsd, IReadOnlyList<string> FirstPrompt);

public static class DryRun
{
    /// <summary>
    /// Renders every prompt of <paramref name="tasks"/> (so template problems show up) and estimates tokens (prompt characters / 4,
    /// plus max_tokens per call) and cost from the teacher's prices. Calls counted per <see cref="IRecipe.EstimatedCalls"/>.
    /// </summary>
    public static async Task<DryRunEstimate> EstimateAsync(IRecipe recipe, RecipeContext context, TeacherOptions prices, IReadOnlyList<SeedTask> tasks, CancellationToken ct = default)
    {
        long promptTokens = 0, completionTokens = 0;
        int calls = 0;
        IReadOnlyList<string> first = [];
        var calculator = new CostCalculator(prices);
        foreach (var task in tasks)
        {
            var rendered = await context.Renderer.RenderAsync(context.Template, SampleBuilder.Values(context.Template, task.Input, context.Variables), ct).ConfigureAwait(false);
            if (first.Count == 0) first = rendered.TeacherMessages.Select(m => $"{m.Role}: {m.Content}").ToList();
            var request = new TeacherRequest { Messages = rendered.TeacherMessages, Tools = context.Tools?.SchemasJson, MaxTokens = 0 };
            var n = recipe.EstimatedCalls(task);
            calls += n;
            promptTokens += (long)TokenEstimator.Estimate(request) * n;
            completionTokens += (long)(context.Template.Parameters.MaxTokens ?? TokenEstimator.DefaultCompletionTokens) * n;
        }
        var cost = calculator.Cost(new TeacherUsage((int)Math.Min(int.MaxValue, promptTokens), (int)Math.Min(int.MaxValue, completionTokens), 0));
        return new DryRunEstimate(tasks.Count, calls, promptTokens, completionTokens, cost, first);
    }
}
