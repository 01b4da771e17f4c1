namespace Distill.Models.Tokenization;

/// <summary>The ChatML / Qwen2.5 markers that the chat template writes and the parser reads.</summary>
public static class ChatTokens
{
    public const string ImStart = "<|im_start|>";
    public const string ImEnd = "<|im_end|>";
    public const string EndOfText = "<|endoftext|>";
    public const string ToolCallOpen = "<tool_call>";
    public const string ToolCallClose = "</tool_call>";
    public const string ToolResponseOpen = "<tool_response>";
    public const string ToolResponseClose = "</tool_response>";
    public const string ThinkOpen = "<think>";
    public const string ThinkClose = "</think>";

    /// <summary>The special tokens a tokenizer trained for Distill's chat format needs, each a single id.</summary>
    public static IReadOnlyList<string> All { get; } =
        [EndOfText, ImStart, ImEnd, ToolCallOpen, ToolCallClose, ToolResponseOpen, ToolResponseClose, ThinkOpen, ThinkClose];
}
