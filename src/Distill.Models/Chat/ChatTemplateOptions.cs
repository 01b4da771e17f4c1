namespace Distill.Models.Chat;

/// <summary>Choices the Qwen2.5 template leaves to the model author.</summary>
public sealed record ChatTemplateOptions
{
    /// <summary>
    /// The system text used when a conversation has no system turn. Qwen2.5 itself uses "You are Qwen, created by
    /// Alibaba Cloud. You are a helpful assistant."; a distilled student should not claim to be Qwen. Null writes no
    /// system turn at all (with tools, the system turn then holds only the tools section).
    /// </summary>
    public string? DefaultSystemPrompt { get; init; } = "You are a helpful assistant.";
}
