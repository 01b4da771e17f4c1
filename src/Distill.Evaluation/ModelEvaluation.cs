using Distill.Core.Samples;
using Distill.Data;

namespace Distill.Evaluation;

/// <summary>Success on one kind of task (order status, refund, ...).</summary>
public sealed record KindScore(string Kind, int Tasks, int Succeeded)
{
    public double SuccessRate => Tasks == 0 ? 0 : (double)Succeeded / Tasks;
}

/// <summary>
/// How one model did on the held-out tasks. A task succeeds when the trajectory makes the expected tool calls with the expected
/// arguments and the final answer states every expected fact (the generation verifier, <c>world_trajectory</c>); a task the
/// pipeline rejected (malformed or invalid tool calls twice, step limit, no answer, truncated) counts as failed with score 0.
/// </summary>
public sealed record ModelEvaluation
{
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
    public required IReadOnlyList<KindScore> ByKind { get; init; }

    public required double MeanCompletionTokens { get; init; }

    /// <summary>Mean wall time of one model call as the client saw it.</summary>
    public required double MeanCallLatencyMs { get; init; }

    public double SuccessRate => Tasks == 0 ? 0 : (double)Succeeded / Tasks;
    public double ToolCallValidity => ToolCalls == 0 ? 0 : 1 - (double)FailedToolCalls / ToolCalls;
    public int RejectedCount => Rejected.Values.Sum();

    /// <summary>Scores the eval dataset in <paramref name="dataset"/>; <paramref name="kindOf"/> maps a task's input to its kind.</summary>
    public static async Task<ModelEvaluation> ScoreAsync(string model, string source, string dataset, Func<string, string> kindOf,
        CancellationToken cancellationToken = default)
    {
        var reader = DatasetReader.Open(dataset);
        var rows = new List<(Sample Sample, string? Reject)>();
        await foreach (var s in reader.ReadSamplesAsync(cancellationToken).ConfigureAwait(false)) rows.Add((s, null));
        await foreach (var r in reader.ReadRejectsAsync(cancellationToken).ConfigureAwait(false)) rows.Add((r.Sample, r.RejectReason));
        return Score(model, source, dataset, rows, kindOf);
    }

    internal static ModelEvaluation Score(string model, string source, string dataset, IReadOnlyList<(Sample Sample, string? Reject)> rows,
        Func<string, string> kindOf)
    {
        bool Succeeded((Sample Sample, string? Reject) row) => row.Reject is null && row.Sample.Verified == true;
        var toolCalls = rows.SelectMany(r => r.Sample.Messages).SelectMany(m => m.ToolCalls).Count();
        var failed = rows.SelectMany(r => r.Sample.Messages)
            .Count(m => m.Role == ChatRoles.Tool && m.Content?.StartsWith("{\"error\"", StringComparison.Ordinal) == true);
        // Rejected rows may lack the latency of the call that failed, so the mean is over rows that report one.
        var timed = rows.Where(r => r.Sample.LatencyMs > 0).ToList();
        var calls = timed.Sum(r => Math.Max(1, r.Sample.Messages.Count(m => m.Role == ChatRoles.Assistant)));
        return new ModelEvaluation
        {
            Model = model,
            Source = source,
            Dataset = dataset,
            Tasks = rows.Count,
            Succeeded = rows.Count(Succeeded),
            MeanScore = rows.Count == 0 ? 0 : rows.Average(r => r.Reject is null ? r.Sample.Score ?? 0 : 0),
            ToolCalls = toolCalls,
            FailedToolCalls = failed,
            Rejected = rows.Where(r => r.Reject is not null).GroupBy(r => r.Reject!, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal),
            ByKind = rows.GroupBy(r => kindOf(r.Sample.SeedInput ?? ""), StringComparer.Ordinal)
                .OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => new KindScore(g.Key, g.Count(), g.Count(Succeeded)))
                .ToList(),
            MeanCompletionTokens = rows.Count == 0 ? 0 : rows.Average(r => (double)r.Sample.CompletionTokens),
            MeanCallLatencyMs = calls == 0 ? 0 : timed.Sum(r => r.Sample.LatencyMs) / calls,
        };
    }
}
