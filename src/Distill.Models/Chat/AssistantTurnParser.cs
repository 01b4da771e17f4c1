using System.Text;
using System.Text.Json;
using Distill.Core.Samples;
using static Distill.Models.Tokenization.ChatTokens;

namespace Distill.Models.Chat;

/// <summary>
/// Reads generated assistant text in the <see cref="ChatTemplate"/> format back into content, reasoning and tool calls.
/// Never throws on model output: malformed tool calls and unbalanced tags become <see cref="ParsedAssistantTurn.Errors"/>,
/// and text outside the known tags stays content. A &lt;tool_call&gt; block that is not a valid call stays content as written,
/// tags included, so what the model said is never lost (vLLM's tool parsers do the same).
/// <para>When valid and malformed blocks mix, the valid ones are tool calls and the malformed ones stay in the content in
/// their place. vLLM returns the whole text as content and no calls once any block fails; a client then cannot run the calls
/// the model did write correctly, so keeping them and showing only the broken part as text loses less.</para>
/// </summary>
public static class AssistantTurnParser
{
    /// <param name="generatedText">The text after "&lt;|im_start|&gt;assistant\n", decoded with special tokens; anything from &lt;|im_end|&gt; on is ignored.</param>
    /// <param name="idPrefix">Tool call ids are this plus the call's index (call_0, call_1, …), so re-parsing gives the same ids.</param>
    /// <param name="toolNames">The functions offered; a call to any other name is malformed. Null accepts any name.</param>
    public static ParsedAssistantTurn Parse(string generatedText, string idPrefix = "call_", IReadOnlyCollection<string>? toolNames = null)
    {
        ArgumentNullException.ThrowIfNull(generatedText);
        var errors = new List<string>();
        var text = CutAtEndOfTurn(generatedText);
        var (beforeReasoning, reasoning, afterReasoning) = SplitReasoning(text, errors);
        var content = new StringBuilder(beforeReasoning);
        var toolCalls = new List<ToolCall>();

        var position = 0;
        var blockIndex = 0;
        while (position < afterReasoning.Length)
        {
            var open = afterReasoning.IndexOf(ToolCallOpen, position, StringComparison.Ordinal);
            var outside = open < 0 ? afterReasoning[position..] : afterReasoning[position..open];
            if (outside.Contains(ToolCallClose, StringComparison.Ordinal))
            {
                errors.Add($"Found {ToolCallClose} without a matching {ToolCallOpen}; kept it as content.");
            }
            content.Append(outside);
            if (open < 0)
            {
                break;
            }
            var bodyStart = open + ToolCallOpen.Length;
            var close = afterReasoning.IndexOf(ToolCallClose, bodyStart, StringComparison.Ordinal);
            var callNumber = blockIndex++;
            string body;
            if (close < 0)
            {
                body = afterReasoning[bodyStart..];
                errors.Add($"Tool call {callNumber} has no closing {ToolCallClose}.");
                position = afterReasoning.Length;
            }
            else
            {
                body = afterReasoning[bodyStart..close];
                position = close + ToolCallClose.Length;
            }
            var call = ParseToolCall(body, idPrefix + toolCalls.Count, callNumber, toolNames, errors);
            if (call is not null)
            {
                toolCalls.Add(call);
            }
            else
            {
                content.Append(afterReasoning, open, position - open);
            }
        }

        var contentText = content.ToString().Trim('\n');
        return new ParsedAssistantTurn(
            string.IsNullOrWhiteSpace(contentText) ? null : contentText,
            reasoning,
            toolCalls,
            errors);
    }

    private static string CutAtEndOfTurn(string text)
    {
        foreach (var end in new[] { ImEnd, EndOfText })
        {
            var index = text.IndexOf(end, StringComparison.Ordinal);
            if (index >= 0)
            {
                text = text[..index];
            }
        }
        return text;
    }

    // Reasoning is "<think>\n…\n</think>\n" at the start. A missing opening tag is accepted, because some
    // templates put "<think>" in the prompt and the model only writes the closing one.
    private static (string Before, string? Reasoning, string After) SplitReasoning(string text, List<string> errors)
    {
        var close = text.IndexOf(ThinkClose, StringComparison.Ordinal);
        var open = text.IndexOf(ThinkOpen, StringComparison.Ordinal);
        if (close < 0)
        {
            if (open < 0)
            {
                return ("", null, text);
            }
            errors.Add($"{ThinkOpen} has no closing {ThinkClose}; took the rest of the text as reasoning.");
            return (text[..open], TrimOneNewline(text[(open + ThinkOpen.Length)..]), "");
        }
        var reasoningStart = open >= 0 && open < close ? open + ThinkOpen.Length : 0;
        var before = open >= 0 && open < close ? text[..open] : "";
        var reasoning = TrimOneNewline(text[reasoningStart..close]);
        var after = text[(close + ThinkClose.Length)..];
        if (after.StartsWith('\n'))
        {
            after = after[1..];
        }
        return (before, reasoning, after);
    }

    private static string TrimOneNewline(string text)
    {
        if (text.StartsWith('\n'))
        {
            text = text[1..];
        }
        if (text.EndsWith('\n'))
        {
            text = text[..^1];
        }
        return text;
    }

    private static ToolCall? ParseToolCall(string body, string id, int callNumber, IReadOnlyCollection<string>? toolNames, List<string> errors)
    {
        var json = body.Trim();
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                errors.Add($"Tool call {callNumber} is not a JSON object: {Shorten(json)}");
                return null;
            }
            if (!root.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(name.GetString()))
            {
                errors.Add($"Tool call {callNumber} has no \"name\" string: {Shorten(json)}");
                return null;
            }
            if (toolNames is not null && !toolNames.Contains(name.GetString()!))
            {
                errors.Add($"Tool call {callNumber} calls '{name.GetString()}', which is not one of the offered tools.");
                return null;
            }
            var arguments = ArgumentsText(root, callNumber, errors);
            return arguments is null ? null : new ToolCall(id, name.GetString()!, arguments);
        }
        catch (JsonException e)
        {
            errors.Add($"Tool call {callNumber} is not valid JSON ({e.Message}): {Shorten(json)}");
            return null;
        }
    }

    // Arguments come back as compact JSON text, as OpenAI-style APIs return them. Some models write the arguments
    // as a JSON string holding the object; that is accepted when the string parses to an object.
    private static string? ArgumentsText(JsonElement call, int callNumber, List<string> errors)
    {
        if (!call.TryGetProperty("arguments", out var arguments) || arguments.ValueKind == JsonValueKind.Null)
        {
            return "{}";
        }
        if (arguments.ValueKind == JsonValueKind.Object)
        {
            return PythonStyleJson.Compact(arguments);
        }
        if (arguments.ValueKind == JsonValueKind.String)
        {
            try
            {
                using var inner = JsonDocument.Parse(arguments.GetString()!);
                if (inner.RootElement.ValueKind == JsonValueKind.Object)
                {
                    return PythonStyleJson.Compact(inner.RootElement);
                }
            }
            catch (JsonException)
            {
                // Reported below together with the other non-object shapes.
            }
        }
        errors.Add($"Tool call {callNumber} has \"arguments\" that are not a JSON object: {Shorten(arguments.GetRawText())}");
        return null;
    }

    private static string Shorten(string text) => text.Length <= 200 ? text : text[..200] + "…";
}
