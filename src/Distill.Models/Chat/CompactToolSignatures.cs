using System.Text;
using System.Text.Json;

namespace Distill.Models.Chat;

/// <summary>
/// The <see cref="ChatToolFormat.Compact"/> tools section: one line per tool, <c>name(param: type, optional?: type) - description</c>,
/// then how to call one. Types come from the JSON schema: enums as their literals (<c>"a"|"b"</c>), arrays as <c>type[]</c>,
/// objects with properties as <c>{key: type}</c>. Parameter descriptions are left out: they are most of a schema's tokens.
/// </summary>
public static class CompactToolSignatures
{
    /// <summary>The last line of the section: the assistant's call format, exactly as <see cref="ChatTemplate.AssistantOutput"/> writes it, on one line.</summary>
    public const string CallInstruction = "Call a tool with <tool_call>{\"name\": ..., \"arguments\": {...}}</tool_call>";

    public const string Heading = "Tools:";

    /// <summary>The whole section: heading, one signature per tool, the call instruction (lines joined by "\n", no trailing newline).</summary>
    /// <param name="tools">Elements of the OpenAI "tools" array ({"type": "function", "function": {...}}) or bare function objects.</param>
    public static string Section(IEnumerable<JsonElement> tools)
    {
        var text = new StringBuilder(Heading);
        foreach (var tool in tools)
        {
            text.Append('\n').Append(Signature(tool));
        }
        return text.Append('\n').Append(CallInstruction).ToString();
    }

    /// <summary>One tool as <c>name(param: type, other?: type) - description</c>.</summary>
    public static string Signature(JsonElement tool)
    {
        var function = tool.ValueKind == JsonValueKind.Object && tool.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object ? f : tool;
        var name = StringProperty(function, "name") ?? "?";
        var text = new StringBuilder(name).Append('(');
        if (function.TryGetProperty("parameters", out var parameters) && parameters.ValueKind == JsonValueKind.Object)
        {
            text.Append(Properties(parameters));
        }
        text.Append(')');
        if (StringProperty(function, "description") is { Length: > 0 } description)
        {
            text.Append(" - ").Append(OneLine(description));
        }
        return text.ToString();
    }

    /// <summary>A schema as a short type: string, integer, "a"|"b", string[], {key: type, other?: type}, string|null, any.</summary>
    public static string TypeOf(JsonElement schema)
    {
        if (schema.ValueKind != JsonValueKind.Object)
        {
            return "any";
        }
        if (schema.TryGetProperty("enum", out var values) && values.ValueKind == JsonValueKind.Array)
        {
            return string.Join('|', values.EnumerateArray().Select(PythonStyleJson.Serialize));
        }
        if (schema.TryGetProperty("const", out var constant))
        {
            return PythonStyleJson.Serialize(constant);
        }
        foreach (var union in new[] { "anyOf", "oneOf" })
        {
            if (schema.TryGetProperty(union, out var variants) && variants.ValueKind == JsonValueKind.Array)
            {
                return string.Join('|', variants.EnumerateArray().Select(TypeOf));
            }
        }
        if (!schema.TryGetProperty("type", out var type))
        {
            return schema.TryGetProperty("properties", out _) ? ObjectType(schema) : "any";
        }
        return type.ValueKind switch
        {
            JsonValueKind.String => NamedType(type.GetString()!, schema),
            JsonValueKind.Array => string.Join('|', type.EnumerateArray().Where(t => t.ValueKind == JsonValueKind.String).Select(t => NamedType(t.GetString()!, schema))),
            _ => "any",
        };
    }

    private static string NamedType(string type, JsonElement schema) => type switch
    {
        "array" when schema.TryGetProperty("items", out var items) && items.ValueKind == JsonValueKind.Object => ArrayOf(TypeOf(items)),
        "object" => ObjectType(schema),
        _ => type,
    };

    // "a"|"b" as an element type needs parentheses to stay one type: ("a"|"b")[].
    private static string ArrayOf(string element) => element.Contains('|', StringComparison.Ordinal) ? $"({element})[]" : element + "[]";

    private static string ObjectType(JsonElement schema)
    {
        var properties = Properties(schema);
        return properties.Length == 0 ? "object" : "{" + properties + "}";
    }

    /// <summary>"key: type, other?: type" in declaration order; a key not in "required" is marked optional with "?".</summary>
    private static string Properties(JsonElement schema)
    {
        if (!schema.TryGetProperty("properties", out var properties) || properties.ValueKind != JsonValueKind.Object)
        {
            return "";
        }
        var required = schema.TryGetProperty("required", out var r) && r.ValueKind == JsonValueKind.Array
            ? r.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToHashSet(StringComparer.Ordinal)
            : [];
        return string.Join(", ", properties.EnumerateObject().Select(p =>
            $"{p.Name}{(required.Contains(p.Name) ? "" : "?")}: {TypeOf(p.Value)}"));
    }

    private static string? StringProperty(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    // A description spread over lines would break "one line per tool".
    private static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
