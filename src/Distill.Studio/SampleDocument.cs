using Distill.Core.Samples;
using Distill.Data.Curation;

namespace Distill.Studio;

/// <summary>A token of the heat strip: its text, logprob and the teacher's strongest alternatives.</summary>
public sealed record TokenDocument(string Token, double Logprob, IReadOnlyList<AlternativeDocument> Top);

public sealed record AlternativeDocument(string Token, double Logprob);

public sealed record ToolCallDocument(string Id, string Name, string Arguments);

public sealed record MessageDocument(string Role, string? Content, string? Reasoning, IReadOnlyList<ToolCallDocument> ToolCalls,
    string? ToolCallId, string? Name, bool IsError, IReadOnlyList<TokenDocument> Logprobs)
{
    /// <summary>The heat strip shows at most this many alternatives per token.</summary>
    public const int MaxAlternatives = 5;

    public static MessageDocument From(ChatMessage m) => new(m.Role, m.Content, m.Reasoning,
        m.ToolCalls.Select(c => new ToolCallDocument(c.Id, c.Name, c.Arguments)).ToArray(), m.ToolCallId, m.Name, m.IsError,
        m.Logprobs.Select(t => new TokenDocument(t.Token, t.Logprob,
            t.Top.Take(MaxAlternatives).Select(a => new AlternativeDocument(a.Token, a.Logprob)).ToArray())).ToArray());

    /// <summary>Back to a chat turn (an edit sent by the page; logprobs are never taken from a client).</summary>
    public ChatMessage ToMessage() => new()
    {
        Role = Role,
        Content = Content,
        Reasoning = Reasoning,
        ToolCallId = ToolCallId,
        Name = Name,
        IsError = IsError,
        ToolCalls = (ToolCalls ?? []).Select(c => new ToolCall(c.Id, c.Name, c.Arguments)).ToArray(),
    };
}

/// <summary>The curator's latest decision on a sample and its revision (sent back with the next decision).</summary>
public sealed record CurationDocument(string Decision, string? Reason, DateTimeOffset At, int Revision);

/// <summary>
/// A sample as the page shows it: every field as data (JSON strings), never markup. <see cref="Curated"/> is the edited view when
/// the latest decision is an edit.
/// </summary>
public sealed record SampleDocument
{
    public required string Dataset { get; init; }
    public required string Id { get; init; }
    public required string Source { get; init; }
    public string? RejectReason { get; init; }
    public required string Kind { get; init; }
    public required IReadOnlyList<MessageDocument> Messages { get; init; }
    public string? Tools { get; init; }
    public string? Answer { get; init; }
    public string? Rationale { get; init; }
    public string? TemplateId { get; init; }
    public string? TemplateVersion { get; init; }
    public string? Recipe { get; init; }
    public TeacherInfo? Teacher { get; init; }
    public GenerationParams? Params { get; init; }
    public string? SeedInput { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public bool? Verified { get; init; }
    public string? Verifier { get; init; }
    public double? Score { get; init; }
    public int PromptTokens { get; init; }
    public int CompletionTokens { get; init; }
    public double CostUsd { get; init; }
    public double LatencyMs { get; init; }
    public CurationDocument? Curation { get; init; }
    public SampleDocument? Curated { get; init; }

    public static SampleDocument From(string dataset, Sample s, string? rejectReason, CuratedEntry? curation)
    {
        var document = Plain(dataset, s, rejectReason);
        if (curation is null) return document;
        return document with
        {
            Curation = new CurationDocument(SampleQuery.DecisionName(curation.Decision.Action), curation.Decision.Reason, curation.Decision.At, curation.Revision),
            Curated = curation.Decision.Action == CurationAction.Edit ? Plain(dataset, CuratedView.Edited(s, curation.Decision), rejectReason) : null,
        };
    }

    private static SampleDocument Plain(string dataset, Sample s, string? rejectReason) => new()
    {
        Dataset = dataset,
        Id = s.Id,
        Source = rejectReason is null ? SampleSummary.Accepted : SampleSummary.Rejected,
        RejectReason = rejectReason,
        Kind = s.Kind,
        Messages = s.Messages.Select(MessageDocument.From).ToArray(),
        Tools = s.Tools,
        Answer = s.Answer,
        Rationale = s.Rationale,
        TemplateId = s.TemplateId,
        TemplateVersion = s.TemplateVersion,
        Recipe = s.Recipe,
        Teacher = s.Teacher,
        Params = s.Params,
        SeedInput = s.SeedInput,
        CreatedAt = s.CreatedAt,
        Verified = s.Verified,
        Verifier = s.Verifier,
        Score = s.Score,
        PromptTokens = s.PromptTokens,
        CompletionTokens = s.CompletionTokens,
        CostUsd = s.CostUsd,
        LatencyMs = s.LatencyMs,
    };
}

/// <summary>A decision sent by the page: <c>{"dataset","id","action","reason"?,"messages"?,"answer"?,"rationale"?,"base_revision"?}</c>.</summary>
public sealed record DecisionRequest
{
    public string? Dataset { get; init; }
    public string? Id { get; init; }
    public CurationAction? Action { get; init; }
    public string? Reason { get; init; }
    public IReadOnlyList<MessageDocument>? Messages { get; init; }
    public string? Answer { get; init; }
    public string? Rationale { get; init; }

    /// <summary>The revision the page showed; a different current one means another tab decided meanwhile (409).</summary>
    public int? BaseRevision { get; init; }
}
