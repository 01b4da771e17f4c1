using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Core.Errors;
using Distill.Core.Samples;
using Distill.Models.Tokenization;
using static Distill.Models.Tokenization.ChatTokens;

namespace Distill.Models.Chat;

/// <summary>
/// Qwen2.5's ChatML chat template with tools, written out in C# so that training and serving render exactly what
/// transformers renders for Qwen2.5, with one addition: assistant reasoning as "&lt;think&gt;\n…\n&lt;/think&gt;\n" before the content.
/// With <see cref="ChatToolFormat.Compact"/> the system turn offers tools as short signatures instead of JSON schemas
/// (<see cref="CompactToolSignatures"/>); everything else, the assistant's tool calls included, is the same.
/// Rendering keeps track of which text the assistant produced, so tokenization can mark it for the loss.
/// </summary>
public sealed class ChatTemplate
{
    private const string ToolsPreamble =
        "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n" +
        "You are provided with function signatures within <tools></tools> XML tags:\n<tools>";

    private const string ToolsPostamble =
        "\n</tools>\n\nFor each function call, return a json object with function name and arguments within " +
        "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>";

    /// <summary>What the prompt ends with when the model is to answer; everything after it is assistant output.</summary>
    public const string GenerationPrompt = ImStart + "assistant\n";

    private readonly ChatTemplateOptions _options;

    public ChatTemplate(ChatTemplateOptions? options = null) => _options = options ?? new ChatTemplateOptions();

    /// <summary>The choices this template renders with (what <see cref="ChatTemplateOptionsFile"/> saves beside a model).</summary>
    public ChatTemplateOptions Options => _options;

    /// <param name="messages">The conversation: system, user, assistant and tool turns.</param>
    /// <param name="toolsJson">The OpenAI "tools" array as JSON text (as <see cref="Sample.Tools"/> stores it), or null.</param>
    /// <param name="addGenerationPrompt">End with "&lt;|im_start|&gt;assistant\n" so the model writes the next turn.</param>
    public RenderedChat Render(IReadOnlyList<ChatMessage> messages, string? toolsJson = null, bool addGenerationPrompt = false)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var segments = new SegmentBuilder();
        var tools = ParseTools(toolsJson);
        var firstIsSystem = messages.Count > 0 && messages[0].Role == ChatRoles.System;
        WriteSystemTurn(segments, firstIsSystem ? messages[0].Content ?? "" : _options.DefaultSystemPrompt, tools);

        for (var i = firstIsSystem ? 1 : 0; i < messages.Count; i++)
        {
            var message = messages[i];
            switch (message.Role)
            {
                case ChatRoles.User or ChatRoles.System:
                    segments.Prompt($"{ImStart}{message.Role}\n{message.Content}{ImEnd}\n");
                    break;
                case ChatRoles.Assistant:
                    segments.Prompt(GenerationPrompt);
                    segments.Assistant(AssistantOutput(message) + ImEnd);
                    segments.Prompt("\n");
                    break;
                case ChatRoles.Tool:
                    // Consecutive tool results share one user turn, as in Qwen2.5.
                    if (i == 0 || messages[i - 1].Role != ChatRoles.Tool)
                    {
                        segments.Prompt(ImStart + "user");
                    }
                    segments.Prompt($"\n{ToolResponseOpen}\n{message.Content}\n{ToolResponseClose}");
                    if (i == messages.Count - 1 || messages[i + 1].Role != ChatRoles.Tool)
                    {
                        segments.Prompt(ImEnd + "\n");
                    }
                    break;
                default:
                    throw new DistillException($"Message {i} has role '{message.Role}', which the chat template does not know.",
                        $"Use one of {ChatRoles.System}, {ChatRoles.User}, {ChatRoles.Assistant}, {ChatRoles.Tool}.");
            }
        }
        if (addGenerationPrompt)
        {
            segments.Prompt(GenerationPrompt);
        }
        return new RenderedChat(segments.Build());
    }

    /// <summary>
    /// Renders and encodes, with the assistant mask. Each segment is encoded on its own, so no token straddles a
    /// prompt/assistant boundary; that is also how generation sees it (the prompt is encoded, the model continues).
    /// </summary>
    public TokenizedChat Tokenize(ITextTokenizer tokenizer, IReadOnlyList<ChatMessage> messages, string? toolsJson = null, bool addGenerationPrompt = false)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        foreach (var required in new[] { ImStart, ImEnd })
        {
            if (!tokenizer.AddedTokens.ContainsKey(required))
            {
                throw new DistillException($"Tokenizer {tokenizer.TokenizerId} has no special token {required}, which the chat template needs.",
                    "Use a tokenizer trained with Distill's chat tokens (ChatTokens.All) or a ChatML model's tokenizer.");
            }
        }
        var ids = new List<int>();
        var mask = new List<bool>();
        foreach (var segment in Render(messages, toolsJson, addGenerationPrompt).Segments)
        {
            var segmentIds = tokenizer.Encode(segment.Text);
            ids.AddRange(segmentIds);
            mask.AddRange(Enumerable.Repeat(segment.IsAssistant, segmentIds.Length));
        }
        return new TokenizedChat(ids.ToArray(), mask.ToArray());
    }

    /// <summary>
    /// The text an assistant turn generates after <see cref="GenerationPrompt"/>, without the closing &lt;|im_end|&gt;:
    /// reasoning, content, then tool calls. <see cref="AssistantTurnParser"/> reads it back.
    /// </summary>
    public static string AssistantOutput(ChatMessage message)
    {
        var body = new StringBuilder();
        if (!string.IsNullOrEmpty(message.Reasoning))
        {
            body.Append(ThinkOpen).Append('\n').Append(message.Reasoning).Append('\n').Append(ThinkClose).Append('\n');
        }
        body.Append(message.Content);
        if (message.ToolCalls.Count == 0)
        {
            return body.ToString();
        }
        // Qwen2.5 writes "\n" + content only when there is content, then "\n<tool_call>…" per call.
        var output = new StringBuilder();
        if (body.Length > 0)
        {
            output.Append(body).Append('\n');
        }
        for (var i = 0; i < message.ToolCalls.Count; i++)
        {
            var call = message.ToolCalls[i];
            if (i > 0)
            {
                output.Append('\n');
            }
            output.Append(ToolCallOpen).Append("\n{\"name\": \"").Append(call.Name).Append("\", \"arguments\": ")
                .Append(ArgumentsJson(call.Arguments)).Append("}\n").Append(ToolCallClose);
        }
        return output.ToString();
    }

    private void WriteSystemTurn(SegmentBuilder segments, string? systemText, IReadOnlyList<JsonElement> tools)
    {
        if (tools.Count == 0)
        {
            if (systemText is not null)
            {
                segments.Prompt($"{ImStart}system\n{systemText}{ImEnd}\n");
            }
            return;
        }
        var text = new StringBuilder(ImStart).Append("system\n");
        if (_options.ToolFormat == ChatToolFormat.Compact)
        {
            text.Append(systemText is null ? "" : systemText + "\n\n").Append(CompactToolSignatures.Section(tools));
        }
        else
        {
            // Without any system text the tools section opens the turn, without Qwen's leading blank lines.
            text.Append(systemText is null ? ToolsPreamble.TrimStart('\n') : systemText + ToolsPreamble);
            foreach (var tool in tools)
            {
                text.Append('\n').Append(PythonStyleJson.Serialize(InFunctionKeyOrder(tool)));
            }
            text.Append(ToolsPostamble);
        }
        text.Append(ImEnd).Append('\n');
        segments.Prompt(text.ToString());
    }

    /// <summary>
    /// The tool with its function's keys in one order: name, description, parameters, then the rest as given. Clients reorder
    /// them (the OpenAI .NET SDK writes "description" before "name"), so without this a served model would see other schema
    /// text than the one it was trained on. Tools written in this order (as OpenAI documents them) render unchanged.
    /// </summary>
    private static JsonElement InFunctionKeyOrder(JsonElement tool)
    {
        if (tool.ValueKind != JsonValueKind.Object || !tool.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
        {
            return tool;
        }
        var ordered = new JsonObject();
        foreach (var key in FunctionKeyOrder)
        {
            if (function.TryGetProperty(key, out var value))
            {
                ordered[key] = JsonNode.Parse(value.GetRawText());
            }
        }
        foreach (var property in function.EnumerateObject().Where(p => !FunctionKeyOrder.Contains(p.Name)))
        {
            ordered[property.Name] = JsonNode.Parse(property.Value.GetRawText());
        }
        var result = new JsonObject();
        foreach (var property in tool.EnumerateObject())
        {
            result[property.Name] = property.Name == "function" ? ordered : JsonNode.Parse(property.Value.GetRawText());
        }
        return JsonSerializer.SerializeToElement(result);
    }

    private static readonly string[] FunctionKeyOrder = ["name", "description", "parameters"];

    // Arguments are stored as JSON text; Qwen2.5 renders them as a JSON object. Text that is not JSON (a model's
    // broken output) is written as it is, so what the model said is what it is trained on.
    private static string ArgumentsJson(string arguments)
    {
        try
        {
            using var document = JsonDocument.Parse(string.IsNullOrWhiteSpace(arguments) ? "{}" : arguments);
            return PythonStyleJson.Serialize(document.RootElement);
        }
        catch (JsonException)
        {
            return arguments;
        }
    }

    private static IReadOnlyList<JsonElement> ParseTools(string? toolsJson)
    {
        if (string.IsNullOrWhiteSpace(toolsJson))
        {
            return [];
        }
        try
        {
            using var document = JsonDocument.Parse(toolsJson);
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                throw new DistillException("The tools JSON is not an array.", "Pass the OpenAI \"tools\" array: [{\"type\": \"function\", \"function\": {...}}].");
            }
            return document.RootElement.EnumerateArray().Select(t => t.Clone()).ToList();
        }
        catch (JsonException e)
        {
            throw new DistillException($"The tools JSON is not valid JSON: {e.Message}", "Pass the OpenAI \"tools\" array as JSON text.", e);
        }
    }

    /// <summary>Collects text, merging neighbours of the same kind so each encodes as one piece.</summary>
    private sealed class SegmentBuilder
    {
        private readonly List<ChatSegment> _segments = [];

        public void Prompt(string text) => Add(text, isAssistant: false);

        public void Assistant(string text) => Add(text, isAssistant: true);

        public IReadOnlyList<ChatSegment> Build() => _segments;

        private void Add(string text, bool isAssistant)
        {
            if (text.Length == 0)
            {
                return;
            }
            if (_segments.Count > 0 && _segments[^1].IsAssistant == isAssistant)
            {
                _segments[^1] = _segments[^1] with { Text = _segments[^1].Text + text };
            }
            else
            {
                _segments.Add(new ChatSegment(text, isAssistant));
            }
        }
    }
}
