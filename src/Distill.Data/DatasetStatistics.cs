using Distill.Core.Samples;

namespace Distill.Data;

/// <summary>One histogram bucket: samples whose length is in [<see cref="From"/>, <see cref="To"/>); <see cref="To"/> null is open-ended.</summary>
public sealed record HistogramBucket(long From, long? To, long Count);

/// <summary>Sample length in tokens over accepted samples.</summary>
/// <param name="Estimated">Samples whose length was estimated from characters because they record no token counts.</param>
public sealed record TokenLengthStats(IReadOnlyList<HistogramBucket> Buckets, long Samples, long Estimated, long Min, long Max, double Mean);

/// <summary>How much of the accepted samples' assistant output carries teacher logprobs (what logit-level KD can use).</summary>
/// <param name="AssistantTurns">Assistant turns over accepted samples.</param>
/// <param name="TurnsWithLogprobs">Of those, turns with at least one logprob.</param>
/// <param name="ToolCallTurns">Assistant turns that make tool calls.</param>
/// <param name="ToolCallTurnsWithLogprobs">Of those, turns with at least one logprob.</param>
/// <param name="SamplesWithLogprobs">Accepted samples with logprobs on at least one turn.</param>
/// <param name="Tokens">Logprob entries (generated tokens) over all turns.</param>
/// <param name="MaxTopK">The most alternatives stored at any token.</param>
/// <param name="ByProvenance">Turns with logprobs by how they were produced (<see cref="LogprobProvenance.Describe"/>, or
/// <see cref="NotRecorded"/>), keyed <c>provider/model: provenance</c>; more than one key means the dataset mixes settings.</param>
public sealed record LogprobStats(long AssistantTurns, long TurnsWithLogprobs, long ToolCallTurns, long ToolCallTurnsWithLogprobs,
    long SamplesWithLogprobs, long Tokens, int MaxTopK, IReadOnlyDictionary<string, long>? ByProvenance = null)
{
    /// <summary>The provenance key of turns whose dataset did not record how their logprobs were produced.</summary>
    public const string NotRecorded = "not recorded";

    /// <summary>The key <see cref="ByProvenance"/> counts a turn under.</summary>
    public static string ProvenanceKey(TeacherInfo? teacher, LogprobProvenance? provenance) =>
        $"{(teacher is null ? "(none)" : $"{teacher.Provider}/{teacher.Model}")}: {provenance?.Describe() ?? NotRecorded}";
}

/// <summary>One teacher's part of a dataset (a routed run mixes teachers): what it produced and what that cost.</summary>
/// <param name="TotalCostUsd">Cost of its accepted and rejected samples: rejects were paid for too.</param>
public sealed record TeacherCostStats(long Accepted, long Rejected, double AcceptedCostUsd, double TotalCostUsd)
{
    /// <summary>TotalCostUsd / Accepted (0 when nothing was accepted): what one kept sample of this teacher really cost.</summary>
    public double CostPerAcceptedSample => Accepted == 0 ? 0 : TotalCostUsd / Accepted;
}

/// <summary>What <c>distill dataset stats</c> shows. Dictionaries are sorted by key.</summary>
/// <param name="ByTemplate">Key: <c>template_id@template_version</c>, or "(none)".</param>
/// <param name="ByTeacher">Key: <c>provider/model</c>, or "(none)".</param>
/// <param name="ByVerified">Keys: "verified", "failed", "unverified" (verifier not run).</param>
/// <param name="TotalCostUsd">Teacher cost of accepted and rejected samples: rejects were paid for too.</param>
/// <param name="CostPerAcceptedSample">TotalCostUsd / Accepted (0 when nothing was accepted): what one kept sample really cost.</param>
/// <param name="CostByTeacher">Counts and cost per teacher, keyed as <paramref name="ByTeacher"/> (rejects under the teacher they name).</param>
public sealed record DatasetStats(
    long Accepted,
    long Rejected,
    IReadOnlyDictionary<string, long> ByKind,
    IReadOnlyDictionary<string, long> ByTemplate,
    IReadOnlyDictionary<string, long> ByTeacher,
    IReadOnlyDictionary<string, long> ByVerified,
    IReadOnlyDictionary<string, long> RejectsByReason,
    IReadOnlyDictionary<string, long> RejectsByTemplate,
    TokenLengthStats Tokens,
    LogprobStats Logprobs,
    double TotalCostUsd,
    double AcceptedCostUsd,
    double CostPerAcceptedSample,
    IReadOnlyDictionary<string, TeacherCostStats>? CostByTeacher = null);

/// <summary>Computes <see cref="DatasetStats"/> in one streaming pass (memory does not grow with the dataset).</summary>
public static class DatasetStatistics
{
    /// <summary>Bucket edges in tokens: [0,128), [128,256), ... [8192,16384), [16384, inf).</summary>
    public static readonly IReadOnlyList<long> BucketEdges = [0, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];

    /// <summary>Characters per token for the estimate when a sample records no token counts (a common rule of thumb for English BPE).</summary>
    public const double CharsPerToken = 4.0;

    public static Task<DatasetStats> ComputeAsync(DatasetReader reader, CancellationToken ct = default) =>
        ComputeAsync(reader.ReadSamplesAsync(ct), reader.ReadRejectsAsync(ct), ct);

    public static async Task<DatasetStats> ComputeAsync(IAsyncEnumerable<Sample> samples, IAsyncEnumerable<RejectedSample>? rejects,
        CancellationToken ct = default)
    {
        var byKind = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var byTemplate = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var byTeacher = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var byVerified = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var rejectsByReason = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var rejectsByTemplate = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var buckets = new long[BucketEdges.Count];
        long accepted = 0, rejected = 0, estimated = 0, min = long.MaxValue, max = 0, totalTokens = 0;
        long assistantTurns = 0, turnsWithLogprobs = 0, toolCallTurns = 0, toolCallTurnsWithLogprobs = 0, samplesWithLogprobs = 0, logprobTokens = 0;
        int maxTopK = 0;
        var byProvenance = new SortedDictionary<string, long>(StringComparer.Ordinal);
        double acceptedCost = 0, rejectedCost = 0;
        var costByTeacher = new SortedDictionary<string, TeacherCostStats>(StringComparer.Ordinal);

        await foreach (var s in samples.WithCancellation(ct).ConfigureAwait(false))
        {
            accepted++;
            Add(byKind, s.Kind);
            Add(byTemplate, TemplateKey(s));
            Add(byTeacher, TeacherKey(s));
            AddCost(costByTeacher, TeacherKey(s), s.CostUsd, accepted: true);
            Add(byVerified, s.Verified switch { true => "verified", false => "failed", null => "unverified" });
            acceptedCost += s.CostUsd;
            bool anyLogprobs = false;
            foreach (var m in s.Messages)
            {
                if (m.Role != ChatRoles.Assistant) continue;
                bool has = m.Logprobs.Count > 0;
                assistantTurns++;
                if (has) turnsWithLogprobs++;
                if (has) Add(byProvenance, LogprobStats.ProvenanceKey(s.Teacher, m.LogprobProvenance));
                if (m.ToolCalls.Count > 0) toolCallTurns++;
                if (m.ToolCalls.Count > 0 && has) toolCallTurnsWithLogprobs++;
                anyLogprobs |= has;
                logprobTokens += m.Logprobs.Count;
                foreach (var t in m.Logprobs) maxTopK = Math.Max(maxTopK, t.Top.Count);
            }
            if (anyLogprobs) samplesWithLogprobs++;
            var (tokens, isEstimate) = TokenLength(s);
            if (isEstimate) estimated++;
            min = Math.Min(min, tokens);
            max = Math.Max(max, tokens);
            totalTokens += tokens;
            int b = BucketEdges.Count - 1;
            while (tokens < BucketEdges[b]) b--;
            buckets[b]++;
        }
        if (rejects is not null)
            await foreach (var r in rejects.WithCancellation(ct).ConfigureAwait(false))
            {
                rejected++;
                Add(rejectsByReason, r.RejectReason);
                Add(rejectsByTemplate, TemplateKey(r.Sample));
                rejectedCost += r.Sample.CostUsd;
                AddCost(costByTeacher, TeacherKey(r.Sample), r.Sample.CostUsd, accepted: false);
            }

        var histogram = BucketEdges.Select((from, i) => new HistogramBucket(from, i + 1 < BucketEdges.Count ? BucketEdges[i + 1] : null, buckets[i])).ToArray();
        double total = acceptedCost + rejectedCost;
        return new DatasetStats(accepted, rejected, byKind, byTemplate, byTeacher, byVerified, rejectsByReason, rejectsByTemplate,
            new TokenLengthStats(histogram, accepted, estimated, accepted == 0 ? 0 : min, max, accepted == 0 ? 0 : (double)totalTokens / accepted),
            new LogprobStats(assistantTurns, turnsWithLogprobs, toolCallTurns, toolCallTurnsWithLogprobs, samplesWithLogprobs, logprobTokens, maxTopK, byProvenance),
            total, acceptedCost, accepted == 0 ? 0 : total / accepted, costByTeacher);
    }

    /// <summary>
    /// A sample's length in tokens: prompt_tokens + completion_tokens when the teacher reported them, else an estimate of
    /// (characters of every message's content, reasoning, tool names and arguments) / <see cref="CharsPerToken"/>, rounded up.
    /// </summary>
    public static (long Tokens, bool Estimated) TokenLength(Sample s)
    {
        if (s.PromptTokens > 0 || s.CompletionTokens > 0)
            return ((long)s.PromptTokens + s.CompletionTokens, false);
        long chars = 0;
        foreach (var m in s.Messages)
        {
            chars += (m.Content?.Length ?? 0) + (m.Reasoning?.Length ?? 0);
            foreach (var c in m.ToolCalls) chars += c.Name.Length + c.Arguments.Length;
        }
        return ((long)Math.Ceiling(chars / CharsPerToken), true);
    }

    private static string TemplateKey(Sample s) => s.TemplateId is null ? "(none)" : $"{s.TemplateId}@{s.TemplateVersion ?? "?"}";

    private static void Add(SortedDictionary<string, long> d, string key) => d[key] = d.GetValueOrDefault(key) + 1;

    private static string TeacherKey(Sample s) => s.Teacher is null ? "(none)" : $"{s.Teacher.Provider}/{s.Teacher.Model}";

    private static void AddCost(SortedDictionary<string, TeacherCostStats> d, string key, double cost, bool accepted)
    {
        var t = d.GetValueOrDefault(key) ?? new TeacherCostStats(0, 0, 0, 0);
        d[key] = accepted
            ? t with { Accepted = t.Accepted + 1, AcceptedCostUsd = t.AcceptedCostUsd + cost, TotalCostUsd = t.TotalCostUsd + cost }
            : t with { Rejected = t.Rejected + 1, TotalCostUsd = t.TotalCostUsd + cost };
    }
}
