namespace Distill.Models.Chat;

/// <summary>
/// Choices the Qwen2.5 template leaves to the model author. A model is trained with one set of them and must be served with
/// the same: <see cref="ChatTemplateOptionsFile"/> keeps them in the model folder.
/// </summary>
public sealed record ChatTemplateOptions
{
    /// <summary>What <see cref="DefaultSystemPrompt"/> is unless set.</summary>
    public const string HelpfulAssistant = "You are a helpful assistant.";

    /// <summary>
    /// The system text used when a conversation has no system turn. Qwen2.5 itself uses "You are Qwen, created by
    /// Alibaba Cloud. You are a helpful assistant."; a distilled student should not claim to be Qwen. Null writes no
    /// system turn at all (with tools, the system turn then holds only the tools section).
    /// </summary>
    public string? DefaultSystemPrompt { get; init; } = HelpfulAssistant;

    /// <summary>How tools are offered in the system turn: Qwen2.5's JSON schemas (the default) or compact signatures.</summary>
    public ChatToolFormat ToolFormat { get; init; } = ChatToolFormat.Json;
}
