using System.Text.Json;
using Distill.Core.Samples;
using Distill.Server.Engine;

namespace Distill.Server.Protocol;

/// <summary>A parsed request: what the engine runs, plus the transport options the server itself handles.</summary>
public sealed record ParsedChatRequest(string Model, EngineRequest Request, bool Stream, bool IncludeUsageInStream);

/// <summary>
/// Turns an OpenAI chat-completions body into an <see cref="EngineRequest"/>, checking it the way OpenAI does:
/// every problem is an <see cref="OpenAiError"/> naming the offending parameter, never an exception from deep inside.
/// Unknown top-level fields (user, metadata, ...) are ignored as clients send them routinely.
/// </summary>
public static class ChatRequestParser
{
    public const int MaxN = 8;
    public const int MaxTopLogprobs = 20;

    public static ParsedChatRequest Parse(JsonElement body, string? routeModel = null)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw OpenAiError.Invalid("The request body must be a JSON object.");
        }

        var model = routeModel ?? OptionalString(body, "model")
            ?? throw OpenAiError.Invalid("You must provide a model parameter.", "model");
        var messages = ParseMessages(body);
        var (toolsJson, toolNames) = ParseTools(body);
        var toolChoice = ParseToolChoice(body, toolNames);
        var logprobs = OptionalBool(body, "logprobs") ?? false;
        var topLogprobs = OptionalInt(body, "top_logprobs", 0, MaxTopLogprobs) ?? 0;
        if (topLogprobs > 0 && !logprobs)
        {
            throw OpenAiError.Invalid("top_logprobs requires logprobs to be true.", "top_logprobs");
        }
        var stream = OptionalBool(body, "stream") ?? false;
        var includeUsage = body.TryGetProperty("stream_options", out var streamOptions) &&
                           streamOptions.ValueKind == JsonValueKind.Object &&
                           (OptionalBool(streamOptions, "include_usage") ?? false);

        var request = new EngineRequest
        {
            Messages = messages,
            ToolsJson = toolsJson,
            ToolNames = toolNames,
            ToolChoice = toolChoice,
            Temperature = OptionalDouble(body, "temperature", 0, 2) ?? 1.0,
            TopP = OptionalDouble(body, "top_p", 0, 1) ?? 1.0,
            MaxTokens = OptionalInt(body, "max_completion_tokens", 1, int.MaxValue) ?? OptionalInt(body, "max_tokens", 1, int.MaxValue),
            Seed = OptionalLong(body, "seed"),
            Stop = ParseStop(body),
            N = OptionalInt(body, "n", 1, MaxN) ?? 1,
            Logprobs = logprobs,
            TopLogprobs = topLogprobs,
        };
        return new ParsedChatRequest(model, request, stream, includeUsage);
    }

    private static List<ChatMessage> ParseMessages(JsonElement body)
    {
        if (!body.TryGetProperty("messages", out var array) || array.ValueKind != JsonValueKind.Array)
        {
            throw OpenAiError.Invalid("'messages' must be a non-empty array.", "messages");
        }
        var messages = new List<ChatMessage>();
        var openToolCalls = new HashSet<string>(StringComparer.Ordinal);
        var index = 0;
        foreach (var item in array.EnumerateArray())
        {
            var param = $"messages[{index}]";
            if (item.ValueKind != JsonValueKind.Object)
            {
                throw OpenAiError.Invalid($"{param} must be an object.", param);
            }
            var role = OptionalString(item, "role") ?? throw OpenAiError.Invalid($"{param}.role is required.", $"{param}.role");
            if (role == "developer")
            {
                role = ChatRoles.System; // OpenAI's newer name for the system role.
            }
            if (!ChatRoles.IsKnown(role))
            {
                throw OpenAiError.Invalid($"{param}.role '{role}' is not one of system, developer, user, assistant, tool.", $"{param}.role");
            }
            var content = ParseContent(item, param);
            var message = role switch
            {
                ChatRoles.Assistant => ChatMessage.Assistant(content, ParseToolCalls(item, param, openToolCalls),
                    OptionalString(item, "reasoning_content")),
                ChatRoles.Tool => ParseToolResult(item, param, content, openToolCalls),
                _ => new ChatMessage { Role = role, Content = content ?? throw OpenAiError.Invalid($"{param}.content is required.", $"{param}.content") },
            };
            messages.Add(message);
            index++;
        }
        if (messages.Count == 0)
        {
            throw OpenAiError.Invalid("'messages' must be a non-empty array.", "messages");
        }
        return messages;
    }

    private static string? ParseContent(JsonElement message, string param)
    {
        if (!message.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (content.ValueKind == JsonValueKind.String)
        {
            return content.GetString();
        }
        if (content.ValueKind == JsonValueKind.Array)
        {
            // Content parts: only text is meaningful to a text model; anything else is refused clearly.
            var parts = new List<string>();
            foreach (var part in content.EnumerateArray())
            {
                if (OptionalString(part, "type") != "text" || OptionalString(part, "text") is not { } text)
                {
                    throw OpenAiError.Invalid($"{param}.content: only text parts are supported by this model.", $"{param}.content");
                }
                parts.Add(text);
            }
            return string.Concat(parts);
        }
        throw OpenAiError.Invalid($"{param}.content must be a string or an array of text parts.", $"{param}.content");
    }

    private static List<ToolCall> ParseToolCalls(JsonElement message, string param, HashSet<string> openToolCalls)
    {
        var calls = new List<ToolCall>();
        if (!message.TryGetProperty("tool_calls", out var array) || array.ValueKind == JsonValueKind.Null)
        {
            return calls;
        }
        if (array.ValueKind != JsonValueKind.Array)
        {
            throw OpenAiError.Invalid($"{param}.tool_calls must be an array.", $"{param}.tool_calls");
        }
        var index = 0;
        foreach (var call in array.EnumerateArray())
        {
            var callParam = $"{param}.tool_calls[{index++}]";
            var id = OptionalString(call, "id") ?? throw OpenAiError.Invalid($"{callParam}.id is required.", $"{callParam}.id");
            if (!call.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
            {
                throw OpenAiError.Invalid($"{callParam}.function is required.", $"{callParam}.function");
            }
            var name = OptionalString(function, "name") ?? throw OpenAiError.Invalid($"{callParam}.function.name is required.", $"{callParam}.function.name");
            var arguments = OptionalString(function, "arguments") ?? "{}";
            calls.Add(new ToolCall(id, name, arguments));
            openToolCalls.Add(id);
        }
        return calls;
    }

    private static ChatMessage ParseToolResult(JsonElement message, string param, string? content, HashSet<string> openToolCalls)
    {
        var id = OptionalString(message, "tool_call_id")
            ?? throw OpenAiError.Invalid($"{param}.tool_call_id is required for tool messages.", $"{param}.tool_call_id");
        if (!openToolCalls.Contains(id))
        {
            throw new OpenAiError(422,
                $"{param}.tool_call_id '{id}' does not match any tool call of a preceding assistant message.",
                param: $"{param}.tool_call_id", code: "tool_call_id_mismatch");
        }
        return ChatMessage.Tool(id, OptionalString(message, "name") ?? "", content ?? "");
    }

    private static (string? Json, List<string> Names) ParseTools(JsonElement body)
    {
        var names = new List<string>();
        if (!body.TryGetProperty("tools", out var tools) || tools.ValueKind == JsonValueKind.Null)
        {
            return (null, names);
        }
        if (tools.ValueKind != JsonValueKind.Array)
        {
            throw OpenAiError.Invalid("'tools' must be an array.", "tools");
        }
        var index = 0;
        foreach (var tool in tools.EnumerateArray())
        {
            var param = $"tools[{index++}]";
            if (OptionalString(tool, "type") != "function" || !tool.TryGetProperty("function", out var function) ||
                OptionalString(function, "name") is not { Length: > 0 } name)
            {
                throw OpenAiError.Invalid($"{param} must be {{\"type\": \"function\", \"function\": {{\"name\": ...}}}}.", param);
            }
            names.Add(name);
        }
        return (names.Count == 0 ? null : tools.GetRawText(), names);
    }

    private static ToolChoice ParseToolChoice(JsonElement body, List<string> toolNames)
    {
        if (!body.TryGetProperty("tool_choice", out var choice) || choice.ValueKind == JsonValueKind.Null)
        {
            return toolNames.Count == 0 ? new ToolChoice("none") : ToolChoice.Auto;
        }
        if (choice.ValueKind == JsonValueKind.String)
        {
            var mode = choice.GetString()!;
            if (mode is not ("auto" or "none" or "required"))
            {
                throw OpenAiError.Invalid($"tool_choice '{mode}' is not one of none, auto, required.", "tool_choice");
            }
            if (mode != "none" && toolNames.Count == 0)
            {
                throw OpenAiError.Invalid($"tool_choice '{mode}' needs 'tools'.", "tool_choice");
            }
            return new ToolChoice(mode);
        }
        var name = choice.TryGetProperty("function", out var function) ? OptionalString(function, "name") : null;
        if (name is null || !toolNames.Contains(name))
        {
            throw OpenAiError.Invalid($"tool_choice names function '{name}', which is not in 'tools'.", "tool_choice");
        }
        return new ToolChoice("function", name);
    }

    private static List<string> ParseStop(JsonElement body)
    {
        if (!body.TryGetProperty("stop", out var stop) || stop.ValueKind == JsonValueKind.Null)
        {
            return [];
        }
        List<string> values = stop.ValueKind switch
        {
            JsonValueKind.String => [stop.GetString()!],
            JsonValueKind.Array when stop.EnumerateArray().All(s => s.ValueKind == JsonValueKind.String) =>
                stop.EnumerateArray().Select(s => s.GetString()!).ToList(),
            _ => throw OpenAiError.Invalid("'stop' must be a string or an array of strings.", "stop"),
        };
        if (values.Count > 4 || values.Any(string.IsNullOrEmpty))
        {
            throw OpenAiError.Invalid("'stop' takes at most 4 non-empty strings.", "stop");
        }
        return values;
    }

    private static string? OptionalString(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
            ? value.ValueKind == JsonValueKind.String
                ? value.GetString()
                : throw OpenAiError.Invalid($"'{name}' must be a string.", name)
            : null;

    private static bool? OptionalBool(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
            ? value.ValueKind is JsonValueKind.True or JsonValueKind.False
                ? value.GetBoolean()
                : throw OpenAiError.Invalid($"'{name}' must be true or false.", name)
            : null;

    private static double? OptionalDouble(JsonElement element, string name, double min, double max)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number) || number < min || number > max)
        {
            throw OpenAiError.Invalid($"'{name}' must be a number between {min} and {max}.", name);
        }
        return number;
    }

    private static int? OptionalInt(JsonElement element, string name, int min, int max)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var number) || number < min || number > max)
        {
            throw OpenAiError.Invalid(max == int.MaxValue
                ? $"'{name}' must be an integer of at least {min}."
                : $"'{name}' must be an integer between {min} and {max}.", name);
        }
        return number;
    }

    private static long? OptionalLong(JsonElement element, string name)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        return value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number)
            ? number
            : throw OpenAiError.Invalid($"'{name}' must be an integer.", name);
    }
}
