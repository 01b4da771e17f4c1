using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Distill.Core.Samples;
using Distill.Data;
using Distill.Generation.Quality;
using Distill.Generation.Recipes;
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

    /// <summary><c>--logprobs-optional</c>: the teacher wrapper whose refusals the manifest records.</summary>
    public LogprobsOptionalTeacher? LogprobsOptional { get; init; }

    /// <summary>Rows per committed shard: the most a crash can lose (it is regenerated, or re-read from the cache, on resume).</summary>
    public int CommitEvery { get; init; } = 100;

    public QualityOptions Quality { get; init; } = new();

    /// <summary>Optional LLM-as-judge run on every sample the recipe accepts.</summary>
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
public sealed class GenerationRunner(IRecipe recipe, CachingTeacher teacher, string templateVersion, GenerateOptions options, ILogger? logger = null)
{
    private readonly ILogger _log = logger ?? NullLogger.Instance;

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
        tasks.Select((t, i) => (Task: t, Index: i, Id: SampleId(recipe.Name, templateVersion, t.Input, i)))
            .Where(x => x.Index % options.ShardCount == options.ShardIndex)
            .ToList();

    public async Task<RunProgress> RunAsync(IReadOnlyList<SeedTask> tasks, IProgress<RunProgress>? progress = null, CancellationToken cancellationToken = default)
    {
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
        var pending = plan.Where(p => !writer.IsCommitted(p.Id)).ToList();
        var skipped = plan.Count - pending.Count;
        _log.LogInformation("generate: {Total} tasks for this worker, {Skipped} already committed, {Pending} to do ({Retried} of them retried rejects)",
            plan.Count, skipped, pending.Count, attempts.Count);

        var gate = new SemaphoreSlim(1, 1);
        var accepted = 0;
        var rejected = new Dictionary<string, int>(StringComparer.Ordinal);
        var uncommitted = new Dictionary<string, int>(StringComparer.Ordinal);
        var budgetReached = false;
        var guard = new SystematicErrorGuard<RejectedSample>(options.StopAfterRepeatedErrors);
        var fatalLock = new Lock();
        TeacherRequestException? fatal = null;
        var fatalSamples = 0;
        var failedAfterStop = 0;
        bool Stopping() => guard.Tripped is not null || fatal is not null;

        RunProgress Snapshot()
        {
            var usage = teacher.Meter.Total;
            return new RunProgress(plan.Count, skipped, accepted, new Dictionary<string, int>(rejected), usage.PromptTokens, usage.CompletionTokens,
                usage.CostUsd, teacher.TeacherCalls, teacher.CacheHits, clock.Elapsed, budgetReached)
            {
                Uncommitted = new Dictionary<string, int>(uncommitted),
                RetriedRejects = attempts.Count,
                Budget = options.Budget?.Snapshot(),
                AnsweredWithoutLogprobs = options.LogprobsOptional?.AnsweredWithoutLogprobs ?? 0,
            };
        }

        async Task CommitRejectsAsync(IEnumerable<RejectedSample> samples)
        {
            foreach (var r in samples)
            {
                await writer.RejectAsync(r, CancellationToken.None).ConfigureAwait(false);
                rejected[r.RejectReason] = rejected.GetValueOrDefault(r.RejectReason) + 1;
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
                    RecipeResult result;
                    try
                    {
                        result = await recipe.RunAsync(item.Task, item.Id, SeedIndex(item.Index, attempts.GetValueOrDefault(item.Id, 1)), ct).ConfigureAwait(false);
                        if (result.Accepted && options.Judge is { } judge) result = await JudgeAsync(judge, result, item.Task, ct).ConfigureAwait(false);
                    }
                    catch (TeacherRequestException e) when (e.IsFatal)
                    {
                        // Bad key, no access, wrong deployment: no request can succeed. Stop, and commit nothing for it.
                        lock (fatalLock) { fatal ??= e; fatalSamples++; }
                        return;
                    }
                    await gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
                    try
                    {
                        var reason = result.RejectReason ?? filter.Admit(result.Sample);
                        if (reason == BudgetExhaustedException.Reason) budgetReached = true;
                        var requestError = reason is null ? null : RequestError(result);
                        if (reason is not null && (RetryOnResume.Contains(reason) || requestError is not null && Stopping()))
                        {
                            uncommitted[reason] = uncommitted.GetValueOrDefault(reason) + 1;
                            if (requestError is not null && guard.Tripped is not null) failedAfterStop++;
                        }
                        else if (requestError is not null)
                        {
                            await CommitRejectsAsync(guard.Failed(requestError, new RejectedSample(result.Sample, reason!))).ConfigureAwait(false);
                        }
                        else
                        {
                            await CommitRejectsAsync(guard.Passed()).ConfigureAwait(false);
                            if (reason is null)
                            {
                                await writer.AppendAsync(result.Sample, CancellationToken.None).ConfigureAwait(false);
                                accepted++;
                            }
                            else
                            {
                                await CommitRejectsAsync([new RejectedSample(result.Sample, reason)]).ConfigureAwait(false);
                            }
                        }
                        progress?.Report(Snapshot());
                    }
                    finally
                    {
                        gate.Release();
                    }
                }).ConfigureAwait(false);
            await CommitRejectsAsync(guard.Finish()).ConfigureAwait(false);
        }
        finally
        {
            // Ctrl+C, a fatal teacher error or the end: commit everything finished, whatever happened.
            if (options.LogprobsOptional is { Refusals: > 0 } optional)
                writer.SetConfigValue("logprobs_refused", new JsonObject { ["teacher"] = optional.Name, ["answered_without_logprobs"] = optional.AnsweredWithoutLogprobs });
            await writer.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        }
        if (fatal is not null) throw new SystematicTeacherErrorException(fatal, fatalSamples);
        if (guard.Tripped is { } systematic) throw new SystematicTeacherErrorException(systematic, guard.HeldCount + failedAfterStop);
        if (budgetReached)
        {
            _log.LogWarning("generate: budget of {Budget} USD reached; stopped with everything so far committed", options.Budget?.LimitUsd);
        }
        var final = Snapshot();
        progress?.Report(final);
        return final;
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
            ? result.Sample with { Verifier = LlmJudge.Name, Score = verdict.Score / 10.0, Verified = verdict.Score >= options.MinJudgeScore }
            : result.Sample;
        return new RecipeResult(sample, verdict.Score < options.MinJudgeScore ? LlmJudge.LowScore : null);
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
