using Distill.Core.Samples;

namespace Distill.Models.Chat;

/// <summary>
/// What an assistant's generated text says: its content, reasoning and tool calls, plus every problem found.
/// A model's output is data, not a program error, so problems are listed here instead of thrown.
/// </summary>
public sealed record ParsedAssistantTurn(string? Content, string? Reasoning, IReadOnlyList<ToolCall> ToolCalls, IReadOnlyList<string> Errors)
{
    public bool IsWellFormed => Errors.Count == 0;

    public ChatMessage ToChatMessage() => ChatMessage.Assistant(Content, ToolCalls, Reasoning);
}
