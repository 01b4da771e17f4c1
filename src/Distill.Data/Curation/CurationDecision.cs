using Distill.Core.Errors;
using Distill.Core.Samples;

namespace Distill.Data.Curation;

/// <summary>
/// One curator decision about one sample. The latest decision per sample id is the one that counts (<see cref="CurationState"/>).
/// </summary>
/// <remarks>
/// An edit carries the whole conversation as edited (<see cref="Messages"/>, without logprobs) and, when the curator changed them,
/// the <see cref="Answer"/> and <see cref="Rationale"/>: a decision is self-contained, so the file reads without the shards.
/// </remarks>
public sealed record CurationDecision
{
    public required string SampleId { get; init; }
    public required CurationAction Action { get; init; }

    /// <summary>Why the sample was rejected (required for <see cref="CurationAction.Reject"/>), or a note for the others.</summary>
    public string? Reason { get; init; }

    /// <summary>The edited conversation (<see cref="CurationAction.Edit"/> only).</summary>
    public IReadOnlyList<ChatMessage>? Messages { get; init; }

    /// <summary>The edited final answer; null keeps the sample's own.</summary>
    public string? Answer { get; init; }

    /// <summary>The edited rationale; null keeps the sample's own.</summary>
    public string? Rationale { get; init; }

    public DateTimeOffset At { get; init; } = DateTimeOffset.UtcNow;

    public static CurationDecision Accept(string sampleId) => new() { SampleId = sampleId, Action = CurationAction.Accept };

    public static CurationDecision Reject(string sampleId, string reason) =>
        new() { SampleId = sampleId, Action = CurationAction.Reject, Reason = reason };

    public static CurationDecision Edit(string sampleId, IReadOnlyList<ChatMessage> messages, string? answer = null, string? rationale = null) =>
        new() { SampleId = sampleId, Action = CurationAction.Edit, Messages = messages, Answer = answer, Rationale = rationale };

    /// <summary>The first thing that makes this decision unusable, or null when it is sound.</summary>
    public string? Problem() => this switch
    {
        { SampleId: null or "" } => "it names no sample id",
        { Action: CurationAction.Reject, Reason: null or "" } => "a reject needs a reason",
        { Action: CurationAction.Edit, Messages: null or { Count: 0 } } => "an edit needs the edited messages",
        { Action: CurationAction.Edit } when Messages!.FirstOrDefault(m => !ChatRoles.IsKnown(m.Role)) is { } m => $"unknown role '{m.Role}'",
        { Action: not CurationAction.Edit, Messages: not null } => "only an edit carries messages",
        _ => null,
    };

    /// <summary>Throws a <see cref="DistillException"/> when <see cref="Problem"/> finds one.</summary>
    public void EnsureValid()
    {
        if (Problem() is { } problem)
            throw new DistillException($"Curation decision for '{SampleId}' is not valid: {problem}.",
                "Send accept, reject with a reason, or edit with the messages.");
    }
}
