using Distill.Core.Samples;
using Distill.Data;
using Distill.Data.Lineage;
using Distill.Evaluation.Statistics;

namespace Distill.Evaluation;

/// <summary>
/// How one model did on the held-out tasks. A task succeeds when the greedy trajectory makes the expected tool calls with exactly
/// the expected arguments and the final answer states every expected fact and no forbidden one (the generation verifier,
/// <c>world_trajectory</c>); a task the pipeline rejected (malformed or invalid tool calls twice, step limit, no answer,
/// truncated) counts as failed with score 0.
/// </summary>
public sealed record ModelEvaluation
{
    /// <summary>The task tags results are broken down by (<c>SeedTask.Tags</c> keys).</summary>
    public const string Tier = "tier";
    public const string Phrasing = "phrasing";
    public const string Kind = "kind";

    /// <summary>Tasks without a tag that others carry are grouped under this value.</summary>
    public const string Untagged = "-";

    public required string Model { get; init; }

    /// <summary>Where the answers came from: a model folder or a configured teacher.</summary>
    public required string Source { get; init; }

    /// <summary>The eval dataset folder holding every trajectory (accepted and rejected), for inspection with `distill dataset inspect`.</summary>
    public required string Dataset { get; init; }

    public required int Tasks { get; init; }
    public required int Succeeded { get; init; }

    /// <summary>Mean verifier score (share of checks passed) over all tasks, rejected ones counting 0.</summary>
    public required double MeanScore { get; init; }

    public required int ToolCalls { get; init; }

    /// <summary>Tool calls the runtime refused (arguments not matching the schema, unknown tool) or whose execution failed.</summary>
    public required int FailedToolCalls { get; init; }

    public required IReadOnlyDictionary<string, int> Rejected { get; init; }

    /// <summary>Success per tag value of the tasks (<see cref="BreakdownTags"/>), each with its Wilson 95 % interval.</summary>
    public required IReadOnlyList<GroupScore> ByTag { get; init; }

    /// <summary>Every task's outcome in task order: what a paired comparison of two models (McNemar) reads.</summary>
    public required IReadOnlyList<TaskOutcome> Outcomes { get; init; }

    /// <summary>pass@k from sampled attempts; null when the evaluation was greedy only.</summary>
    public SamplingScore? Sampling { get; init; }

    public required double MeanCompletionTokens { get; init; }

    /// <summary>Mean wall time of one model call as the client saw it.</summary>
    public required double MeanCallLatencyMs { get; init; }

    /// <summary>What the evaluated model was trained on (its run's <c>lineage.json</c>); null for API teachers and folders no run wrote.</summary>
    public RunLineage? Lineage { get; init; }

    public double SuccessRate => Tasks == 0 ? 0 : (double)Succeeded / Tasks;
    public Interval SuccessInterval => Wilson.Interval(Succeeded, Tasks);
    public double ToolCallValidity => ToolCalls == 0 ? 0 : 1 - (double)FailedToolCalls / ToolCalls;
    public int RejectedCount => Rejected.Values.Sum();

    /// <summary>
    /// The tags results are broken down by: "tier" and "phrasing" when the tasks carry them, "kind" when they carry no tier
    /// (the tasks of world v1); in that order.
    /// </summary>
    public static IReadOnlyList<string> BreakdownTags(IEnumerable<IReadOnlyDictionary<string, string>> tags)
    {
        var present = tags.SelectMany(t => t.Keys).ToHashSet(StringComparer.Ordinal);
        return new[] { Tier, Phrasing, Kind }.Where(present.Contains).Where(t => t != Kind || !present.Contains(Tier)).ToList();
    }

    /// <summary>
    /// Scores one model's rows. Each greedy row is one task (a row of a task not in the evaluated list is not passed in); each
    /// sampled row one sampled attempt of its task. Success = accepted and verified; a rejected row counts as failed, score 0.
    /// </summary>
    public static ModelEvaluation Score(string model, string source, string dataset, IReadOnlyList<ScoredRow> rows,
        IReadOnlyList<ScoredRow>? sampled = null, int samples = 0, double temperature = 0)
    {
        var toolCalls = rows.SelectMany(r => r.Sample.Messages).SelectMany(m => m.ToolCalls).Count();
        // The flag the tool runtime sets; the text check for evaluation rows written before tool turns carried it.
        var failed = rows.SelectMany(r => r.Sample.Messages)
            .Count(m => m.Role == ChatRoles.Tool && (m.IsError || m.Content?.StartsWith("{\"error\"", StringComparison.Ordinal) == true));
        // Rejected rows may lack the latency of the call that failed, so the mean is over rows that report one.
        var timed = rows.Where(r => r.Sample.LatencyMs > 0).ToList();
        var calls = timed.Sum(r => Math.Max(1, r.Sample.Messages.Count(m => m.Role == ChatRoles.Assistant)));
        var attempts = (sampled ?? []).GroupBy(r => r.TaskIndex).ToDictionary(g => g.Key, g => (Attempts: g.Count(), Successes: g.Count(r => r.Succeeded)));
        var outcomes = rows.OrderBy(r => r.TaskIndex).Select(r =>
        {
            var (n, c) = attempts.GetValueOrDefault(r.TaskIndex);
            return new TaskOutcome(r.TaskIndex, r.Task.Id, r.Task.Tags ?? new Dictionary<string, string>(), r.Succeeded,
                r.Reject is null ? r.Sample.Score ?? 0 : 0, r.Reject, n, c);
        }).ToList();
        var breakdown = BreakdownTags(outcomes.Select(o => o.Tags));
        return new ModelEvaluation
        {
            Model = model,
            Source = source,
            Dataset = dataset,
            Tasks = outcomes.Count,
            Succeeded = outcomes.Count(o => o.Succeeded),
            MeanScore = outcomes.Count == 0 ? 0 : outcomes.Average(o => o.Score),
            ToolCalls = toolCalls,
            FailedToolCalls = failed,
            Rejected = outcomes.Where(o => o.Reject is not null).GroupBy(o => o.Reject!, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal),
            ByTag = breakdown.SelectMany(tag => outcomes
                    .GroupBy(o => o.Tags.GetValueOrDefault(tag, Untagged), StringComparer.Ordinal)
                    .OrderBy(g => g.Key, StringComparer.Ordinal)
                    .Select(g => new GroupScore(tag, g.Key, g.Count(), g.Count(o => o.Succeeded))))
                .ToList(),
            Outcomes = outcomes,
            Sampling = samples > 0 ? PassAtKOf(outcomes, samples, temperature) : null,
            MeanCompletionTokens = rows.Count == 0 ? 0 : rows.Average(r => (double)r.Sample.CompletionTokens),
            MeanCallLatencyMs = calls == 0 ? 0 : timed.Sum(r => r.Sample.LatencyMs) / calls,
        };
    }

    private static SamplingScore PassAtKOf(IReadOnlyList<TaskOutcome> outcomes, int samples, double temperature)
    {
        var passAtK = new SortedDictionary<int, double>();
        foreach (var k in new[] { 1, samples }.Distinct())
        {
            var eligible = outcomes.Where(o => o.SampledAttempts >= k).Select(o => (o.SampledAttempts, o.SampledSuccesses)).ToList();
            if (eligible.Count > 0) passAtK[k] = PassAtK.Mean(eligible, k);
        }
        return new SamplingScore(samples, temperature, passAtK, outcomes.Count(o => o.SampledAttempts > 0));
    }

    /// <summary>Every row of an eval dataset, accepted and rejected (with its reason).</summary>
    public static async Task<IReadOnlyList<(Sample Sample, string? Reject)>> ReadRowsAsync(string dataset, CancellationToken cancellationToken = default)
    {
        var rows = new List<(Sample Sample, string? Reject)>();
        if (!File.Exists(Path.Combine(dataset, DatasetSchema.ManifestFile))) return rows;
        var reader = DatasetReader.Open(dataset);
        await foreach (var s in reader.ReadSamplesAsync(cancellationToken).ConfigureAwait(false)) rows.Add((s, null));
        await foreach (var r in reader.ReadRejectsAsync(cancellationToken).ConfigureAwait(false)) rows.Add((r.Sample, r.RejectReason));
        return rows;
    }
}
