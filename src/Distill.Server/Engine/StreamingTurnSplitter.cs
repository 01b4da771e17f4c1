namespace Distill.Server.Engine;

/// <summary>
/// Splits a growing assistant turn into what can be streamed now: reasoning inside &lt;think&gt;, content outside it,
/// and nothing from the first &lt;tool_call&gt; on (tool calls are sent whole once parsed). Text that might be the start
/// of a tag or a stop string, or a half-decoded UTF-8 character, is held back until the next token settles it.
/// </summary>
public sealed class StreamingTurnSplitter(IReadOnlyList<string> stopStrings)
{
    private const string ThinkOpen = "<think>";
    private const string ThinkClose = "</think>";
    private const string ToolCallOpen = "<tool_call>";

    private int _contentSent;
    private int _reasoningSent;

    /// <summary>The new reasoning and content since the last call, given the whole text decoded so far.</summary>
    public (string? Reasoning, string? Content) Next(string text, bool final)
    {
        var (reasoning, content) = Split(text, final);
        var newReasoning = reasoning.Length > _reasoningSent ? reasoning[_reasoningSent..] : null;
        var newContent = content.Length > _contentSent ? content[_contentSent..] : null;
        _reasoningSent = Math.Max(_reasoningSent, reasoning.Length);
        _contentSent = Math.Max(_contentSent, content.Length);
        return (newReasoning, newContent);
    }

    private (string Reasoning, string Content) Split(string text, bool final)
    {
        var visible = text;
        var toolCall = visible.IndexOf(ToolCallOpen, StringComparison.Ordinal);
        if (toolCall >= 0)
        {
            visible = visible[..toolCall];
        }
        foreach (var stop in stopStrings)
        {
            var at = visible.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0)
            {
                visible = visible[..at];
            }
        }
        if (!final)
        {
            visible = visible[..SafeLength(visible)];
        }

        var trimmed = visible.TrimStart();
        if (!trimmed.StartsWith(ThinkOpen, StringComparison.Ordinal))
        {
            return ("", visible.TrimStart('\n'));
        }
        var afterOpen = trimmed[ThinkOpen.Length..].TrimStart('\n');
        var close = afterOpen.IndexOf(ThinkClose, StringComparison.Ordinal);
        return close < 0
            ? (afterOpen, "")
            : (afterOpen[..close].TrimEnd('\n'), afterOpen[(close + ThinkClose.Length)..].TrimStart('\n'));
    }

    /// <summary>Length of the prefix that cannot change: no trailing partial tag, partial stop string, or U+FFFD.</summary>
    private int SafeLength(string text)
    {
        var length = text.Length;
        while (length > 0 && text[length - 1] == '\uFFFD')
        {
            length--;
        }
        foreach (var marker in stopStrings.Append(ThinkOpen).Append(ThinkClose).Append(ToolCallOpen))
        {
            for (var k = Math.Min(marker.Length - 1, length); k > 0; k--)
            {
                if (string.CompareOrdinal(text, length - k, marker, 0, k) == 0)
                {
                    length -= k;
                    break;
                }
            }
        }
        return length;
    }
}
