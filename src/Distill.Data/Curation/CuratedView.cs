using System.Runtime.CompilerServices;
using Distill.Core.Errors;
using Distill.Core.Samples;

namespace Distill.Data.Curation;

/// <summary>
/// A dataset as its curators left it: the pipeline's accepted samples minus the ones a curator rejected, edits applied, plus the
/// pipeline's rejects that a curator accepted or edited. Samples nobody decided on keep the pipeline's verdict.
/// </summary>
public static class CuratedView
{
    /// <summary>A sample from the accepted shards under its decision: null when a curator rejected it.</summary>
    public static Sample? ApplyToAccepted(Sample sample, CurationDecision? decision) => decision?.Action switch
    {
        null or CurationAction.Accept => sample,
        CurationAction.Reject => null,
        _ => Edited(sample, decision),
    };

    /// <summary>A sample from the reject shards under its decision: kept only when a curator accepted or edited it.</summary>
    public static Sample? ApplyToRejected(Sample sample, CurationDecision? decision) => decision?.Action switch
    {
        CurationAction.Accept => sample,
        CurationAction.Edit => Edited(sample, decision),
        _ => null,
    };

    /// <summary>
    /// The sample with the edit's messages (and answer, rationale when given). A turn keeps its stored logprobs only when its text
    /// (role, content, reasoning, tool calls) is unchanged at the same position: the teacher's logprobs describe the teacher's tokens,
    /// and logit KD on a curator's words against them would teach the wrong distribution.
    /// </summary>
    public static Sample Edited(Sample original, CurationDecision edit)
    {
        if (edit.Action != CurationAction.Edit || edit.Messages is null)
            throw new ArgumentException("Not an edit decision.", nameof(edit));
        var messages = edit.Messages.Select((m, i) =>
            i < original.Messages.Count && SameText(original.Messages[i], m) ? original.Messages[i] : m with { Logprobs = [], LogprobProvenance = null })
            .ToArray();
        return original with { Messages = messages, Answer = edit.Answer ?? original.Answer, Rationale = edit.Rationale ?? original.Rationale };
    }

    /// <summary>Whether two turns say the same thing (logprobs and provenance aside).</summary>
    public static bool SameText(ChatMessage a, ChatMessage b) =>
        a.Role == b.Role && a.Content == b.Content && a.Reasoning == b.Reasoning && a.ToolCallId == b.ToolCallId && a.Name == b.Name
        && a.IsError == b.IsError && a.ToolCalls.SequenceEqual(b.ToolCalls);

    /// <summary>
    /// The curated samples of a dataset folder: accepted shards first, then rescued rejects, each in manifest order. A sample id is
    /// yielded at most once (a retried sample can sit in both the rejects and the accepted shards).
    /// </summary>
    public static async IAsyncEnumerable<Sample> ReadAsync(DatasetReader reader, CurationState state, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var rescues = state.Latest.Where(e => e.Value.Decision.Action is CurationAction.Accept or CurationAction.Edit)
            .Select(e => e.Key).ToHashSet(StringComparer.Ordinal);
        await foreach (var sample in reader.ReadSamplesAsync(ct).ConfigureAwait(false))
        {
            rescues.Remove(sample.Id);
            if (ApplyToAccepted(sample, state.Find(sample.Id)?.Decision) is { } kept)
                yield return kept;
        }
        if (rescues.Count == 0) yield break;
        await foreach (var rejected in reader.ReadRejectsAsync(ct).ConfigureAwait(false))
        {
            if (!rescues.Remove(rejected.Sample.Id)) continue;
            if (ApplyToRejected(rejected.Sample, state.Find(rejected.Sample.Id)?.Decision) is { } rescued)
                yield return rescued;
        }
    }

    /// <summary>The curated samples of a dataset folder (its curation file read first; none: the accepted samples as they are).</summary>
    public static IAsyncEnumerable<Sample> ReadAsync(string datasetDir, CancellationToken ct = default)
    {
        if (File.Exists(datasetDir))
            throw new DistillException($"'{datasetDir}' is a single Parquet file; curation decisions live in a dataset folder beside its manifest.",
                "Point at the dataset folder, or leave the curated option off for loose files.");
        var reader = DatasetReader.Open(datasetDir);
        return ReadAsync(reader, CurationLog.Load(reader.Directory), ct);
    }
}
