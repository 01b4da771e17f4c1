namespace Distill.Core.Samples;

/// <summary>One chat turn, OpenAI / Hugging Face chat style.</summary>
/// <remarks>
/// <see cref="Role"/> is one of <see cref="ChatRoles"/>. <see cref="Reasoning"/> holds an assistant's step-by-step
/// reasoning when the teacher returns it separately from the answer. <see cref="ToolCallId"/> and <see cref="Name"/>
/// are set on tool-result turns. <see cref="Logprobs"/> holds the teacher's per-token logprobs of an assistant turn, tool-call
/// turns included: one entry per token the teacher generated for that turn, in order; empty when the teacher reported none.
/// <see cref="LogprobProvenance"/> says how those logprobs were produced (null when the dataset did not record it).
/// <see cref="IsError"/> marks a tool-result turn that reports a failed or invalid call rather than the tool's output.
/// </remarks>
public sealed record ChatMessage
{
    public required string Role { get; init; }
    public string? Content { get; init; }
    public string? Reasoning { get; init; }
    public IReadOnlyList<ToolCall> ToolCalls { get; init; } = [];
    public string? ToolCallId { get; init; }
    public string? Name { get; init; }
    public IReadOnlyList<TokenLogprob> Logprobs { get; init; } = [];
    public LogprobProvenance? LogprobProvenance { get; init; }
    public bool IsError { get; init; }

    public static ChatMessage System(string content) => new() { Role = ChatRoles.System, Content = content };
    public static ChatMessage User(string content) => new() { Role = ChatRoles.User, Content = content };
    public static ChatMessage Assistant(string? content, IReadOnlyList<ToolCall>? toolCalls = null, string? reasoning = null,
        IReadOnlyList<TokenLogprob>? logprobs = null, LogprobProvenance? logprobProvenance = null) =>
        new()
        {
            Role = ChatRoles.Assistant, Content = content, ToolCalls = toolCalls ?? [], Reasoning = reasoning, Logprobs = logprobs ?? [],
            LogprobProvenance = logprobs is { Count: > 0 } ? logprobProvenance : null,
        };
    public static ChatMessage Tool(string toolCallId, string name, string content, bool isError = false) =>
        new() { Role = ChatRoles.Tool, ToolCallId = toolCallId, Name = name, Content = content, IsError = isError };
}

public static class ChatRoles
{
    public const string System = "system";
    public const string User = "user";
    public const string Assistant = "assistant";
    public const string Tool = "tool";

    public static bool IsKnown(string role) => role is System or User or Assistant or Tool;
}
