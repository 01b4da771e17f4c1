using System.Text.Json;
using System.Text.Json.Serialization;
using Distill.Core.Samples;

namespace Distill.Data.Curation;

/// <summary>
/// One line of <c>curation.jsonl</c>: <c>{"id","decision":"accept|reject|edit","reason"?,"messages"?:[{"role","content",
/// "reasoning"?,"tool_calls"?:[{"id","name","arguments"}],"tool_call_id"?,"name"?,"is_error"?}],"answer"?,"rationale"?,"at"}</c>.
/// </summary>
internal sealed class CurationLine
{
    internal static readonly JsonSerializerOptions Json = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) },
    };

    [JsonPropertyName("id")] public string? Id { get; set; }
    [JsonPropertyName("decision")] public CurationAction? Decision { get; set; }
    [JsonPropertyName("reason")] public string? Reason { get; set; }
    [JsonPropertyName("messages")] public List<Message>? Messages { get; set; }
    [JsonPropertyName("answer")] public string? Answer { get; set; }
    [JsonPropertyName("rationale")] public string? Rationale { get; set; }
    [JsonPropertyName("at")] public DateTimeOffset At { get; set; }

    internal sealed class Message
    {
        [JsonPropertyName("role")] public string? Role { get; set; }
        [JsonPropertyName("content")] public string? Content { get; set; }
        [JsonPropertyName("reasoning")] public string? Reasoning { get; set; }
        [JsonPropertyName("tool_calls")] public List<Call>? ToolCalls { get; set; }
        [JsonPropertyName("tool_call_id")] public string? ToolCallId { get; set; }
        [JsonPropertyName("name")] public string? Name { get; set; }
        [JsonPropertyName("is_error"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool IsError { get; set; }
    }

    internal sealed class Call
    {
        [JsonPropertyName("id")] public string? Id { get; set; }
        [JsonPropertyName("name")] public string? Name { get; set; }
        [JsonPropertyName("arguments")] public string? Arguments { get; set; }
    }

    public static string Serialize(CurationDecision d) => JsonSerializer.Serialize(new CurationLine
    {
        Id = d.SampleId,
        Decision = d.Action,
        Reason = d.Reason,
        Messages = d.Messages?.Select(m => new Message
        {
            Role = m.Role,
            Content = m.Content,
            Reasoning = m.Reasoning,
            ToolCalls = m.ToolCalls.Count == 0 ? null : m.ToolCalls.Select(c => new Call { Id = c.Id, Name = c.Name, Arguments = c.Arguments }).ToList(),
            ToolCallId = m.ToolCallId,
            Name = m.Name,
            IsError = m.IsError,
        }).ToList(),
        Answer = d.Answer,
        Rationale = d.Rationale,
        At = d.At,
    }, Json);

    /// <summary>The decision on one line, or a description of why the line is not one.</summary>
    public static (CurationDecision? Decision, string? Problem) Parse(string line)
    {
        CurationLine? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize<CurationLine>(line, Json);
        }
        catch (JsonException e)
        {
            return (null, $"not a JSON decision ({e.Message})");
        }
        if (parsed is null) return (null, "null is not a decision");
        if (parsed.Decision is not { } action) return (null, "it has no \"decision\" (accept, reject or edit)");
        if (parsed.Messages?.FirstOrDefault(m => m.Role is null) is not null) return (null, "a message has no \"role\"");
        var decision = new CurationDecision
        {
            SampleId = parsed.Id ?? "",
            Action = action,
            Reason = parsed.Reason,
            Messages = parsed.Messages?.Select(m => new ChatMessage
            {
                Role = m.Role!,
                Content = m.Content,
                Reasoning = m.Reasoning,
                ToolCalls = m.ToolCalls?.Select(c => new ToolCall(c.Id ?? "", c.Name ?? "", c.Arguments ?? "")).ToArray() ?? [],
                ToolCallId = m.ToolCallId,
                Name = m.Name,
                IsError = m.IsError,
            }).ToArray(),
            Answer = parsed.Answer,
            Rationale = parsed.Rationale,
            At = parsed.At,
        };
        return decision.Problem() is { } problem ? (null, problem) : (decision, null);
    }
}
