using System.Text;
using Distill.Models.Chat;
using static Distill.Models.Tokenization.ChatTokens;

namespace Distill.Server.Engine;

/// <summary>
/// Splits a growing assistant turn into what can be streamed now: reasoning inside &lt;think&gt;, content outside it,
/// and nothing from the first &lt;tool_call&gt; on (tool calls are sent whole once parsed). Text that might be the start
/// of a tag or a stop string, or a half-decoded UTF-8 character, is held back until the next token settles it.
/// <para>On the final call the rest of the content is sent, less the blocks that are valid tool calls: a malformed block
/// goes out as content, as the whole (non-streamed) reply has it from <see cref="AssistantTurnParser"/>.</para>
/// </summary>
/// <param name="toolNames">The functions offered; a block calling any other name is malformed. Null accepts any name.</param>
public sealed class StreamingTurnSplitter(IReadOnlyList<string> stopStrings, IReadOnlyCollection<string>? toolNames = null)
{
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
        foreach (var stop in stopStrings)
        {
            var at = visible.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0)
            {
                visible = visible[..at];
            }
        }
        if (final)
        {
            visible = WithoutValidToolCalls(visible);
        }
        else
        {
            // Until the reply ends, nothing from the first <tool_call> on: the block may still become a valid call.
            var toolCall = visible.IndexOf(ToolCallOpen, StringComparison.Ordinal);
            if (toolCall >= 0)
            {
                visible = visible[..toolCall];
            }
            visible = visible[..SafeLength(visible)];
        }

        // Trailing newlines wait for what follows: before </think>, a <tool_call> or the end they are trimmed, as the whole
        // reply's parser trims them; followed by more text they go out with it.
        var trimmed = visible.TrimStart();
        if (!trimmed.StartsWith(ThinkOpen, StringComparison.Ordinal))
        {
            return ("", visible.Trim('\n'));
        }
        var afterOpen = trimmed[ThinkOpen.Length..].TrimStart('\n');
        var close = afterOpen.IndexOf(ThinkClose, StringComparison.Ordinal);
        return close < 0
            ? (final ? afterOpen : afterOpen.TrimEnd('\n'), "")
            : (afterOpen[..close].TrimEnd('\n'), afterOpen[(close + ThinkClose.Length)..].Trim('\n'));
    }

    /// <summary>
    /// The text with each &lt;tool_call&gt; block that parses as a call taken out. Only the whole text can tell: a block
    /// is judged once complete, by the same parser as the whole reply, so both paths agree on which blocks are calls.
    /// </summary>
    private string WithoutValidToolCalls(string text)
    {
        var kept = new StringBuilder();
        var position = 0;
        while (true)
        {
            var open = text.IndexOf(ToolCallOpen, position, StringComparison.Ordinal);
            if (open < 0)
            {
                return kept.Append(text, position, text.Length - position).ToString();
            }
            var close = text.IndexOf(ToolCallClose, open + ToolCallOpen.Length, StringComparison.Ordinal);
            var end = close < 0 ? text.Length : close + ToolCallClose.Length;
            kept.Append(text, position, open - position);
            if (AssistantTurnParser.Parse(text[open..end], toolNames: toolNames).ToolCalls.Count == 0)
            {
                kept.Append(text, open, end - open);
            }
            position = end;
        }
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
