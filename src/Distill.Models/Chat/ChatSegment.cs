namespace Distill.Models.Chat;

/// <summary>
/// A run of rendered chat text. <paramref name="IsAssistant"/> marks text the model must learn to generate
/// (assistant reasoning, content, tool calls and the closing &lt;|im_end|&gt;); everything else is prompt.
/// </summary>
public sealed record ChatSegment(string Text, bool IsAssistant);
