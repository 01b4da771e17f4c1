using System.Collections;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Distill.Generation.Templates;

/// <summary>
/// Checks a value against a declared <see cref="VariableType"/> and formats it as the text the template receives.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>string</c>: a string, verbatim.</item>
/// <item><c>int</c>: any integral number, or a string that parses as one; invariant culture.</item>
/// <item><c>number</c>: any finite number, or a string that parses as one; invariant culture, shortest round-trip form.</item>
/// <item><c>bool</c>: a bool, or "true" / "false" (any case); renders as <c>true</c> / <c>false</c>.</item>
/// <item><c>list</c>: a sequence, or a string holding a JSON array; renders one <c>- item</c> line per item.</item>
/// <item><c>json</c>: a JSON string (checked, kept verbatim), a JsonElement / JsonNode, or any object (serialized compactly,
/// without escaping <c>&lt;</c>, <c>&amp;</c> or quotes into \u sequences).</item>
/// </list>
/// Strings are parsed for the non-string types so that command-line <c>--vars k=v</c> values work. Null means "not given".
/// </remarks>
public static class VariableValues
{
    internal static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static bool TryParseType(string text, out VariableType type)
    {
        type = text switch
        {
            "string" => VariableType.String,
            "int" => VariableType.Int,
            "number" => VariableType.Number,
            "bool" => VariableType.Bool,
            "list" => VariableType.List,
            "json" => VariableType.Json,
            _ => (VariableType)(-1),
        };
        return Enum.IsDefined(type);
    }

    public static string TypeName(VariableType type) => type.ToString().ToLowerInvariant();

    /// <summary>Formats <paramref name="value"/> as <paramref name="type"/>; false with a reason when it does not fit.</summary>
    public static bool TryFormat(VariableType type, object value, out string text, out string error)
    {
        text = "";
        error = "";
        string? result = type switch
        {
            VariableType.String => value as string,
            VariableType.Int => FormatInt(value),
            VariableType.Number => FormatNumber(value),
            VariableType.Bool => FormatBool(value),
            VariableType.List => FormatList(value),
            VariableType.Json => FormatJson(value),
            _ => null,
        };
        if (result is null)
        {
            error = $"expects {TypeName(type)}{Example(type)}, got {Describe(value)}";
            return false;
        }

        text = result;
        return true;
    }

    private static string Example(VariableType type) => type switch
    {
        VariableType.List => " (a sequence or a JSON array such as [\"a\", \"b\"])",
        VariableType.Json => " (valid JSON text or an object)",
        VariableType.Bool => " (true or false)",
        _ => "",
    };

    private static string Describe(object value)
    {
        var shown = value switch
        {
            string s => JsonSerializer.Serialize(s.Length > 60 ? s[..60] + "..." : s, Json),
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => null,
        };
        return shown is null ? value.GetType().Name : $"{value.GetType().Name} {shown}";
    }

    private static string? FormatInt(object value) => value switch
    {
        byte or sbyte or short or ushort or int or uint or long => Convert.ToInt64(value, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture),
        ulong u when u <= long.MaxValue => u.ToString(CultureInfo.InvariantCulture),
        string s when long.TryParse(s.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) => l.ToString(CultureInfo.InvariantCulture),
        JsonElement { ValueKind: JsonValueKind.Number } e when e.TryGetInt64(out var l) => l.ToString(CultureInfo.InvariantCulture),
        _ => null,
    };

    private static string? FormatNumber(object value)
    {
        double? d = value switch
        {
            byte or sbyte or short or ushort or int or uint or long or ulong or float or double =>
                Convert.ToDouble(value, CultureInfo.InvariantCulture),
            decimal m => (double)m,
            string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var p) => p,
            JsonElement { ValueKind: JsonValueKind.Number } e => e.GetDouble(),
            _ => null,
        };
        return d is { } x && double.IsFinite(x) ? x.ToString("R", CultureInfo.InvariantCulture) : null;
    }

    private static string? FormatBool(object value) => value switch
    {
        bool b => b ? "true" : "false",
        string s when bool.TryParse(s.Trim(), out var b) => b ? "true" : "false",
        JsonElement { ValueKind: JsonValueKind.True } => "true",
        JsonElement { ValueKind: JsonValueKind.False } => "false",
        _ => null,
    };

    private static string? FormatList(object value)
    {
        IEnumerable<object?>? items = value switch
        {
            string s => ParseJson(s) is JsonArray a ? a : null,
            JsonElement { ValueKind: JsonValueKind.Array } e => e.EnumerateArray().Cast<object?>(),
            JsonArray a => a,
            IDictionary => null,
            IEnumerable e => e.Cast<object?>(),
            _ => null,
        };
        if (items is null)
        {
            return null;
        }

        var lines = new List<string>();
        foreach (var item in items)
        {
            if (ListItem(item) is not { } text)
            {
                return null;
            }

            lines.Add("- " + text);
        }

        return string.Join('\n', lines);
    }

    private static string? ListItem(object? item) => item switch
    {
        null => null,
        string s => s,
        bool b => b ? "true" : "false",
        IFormattable f when item is not Enum => f.ToString(null, CultureInfo.InvariantCulture),
        JsonElement { ValueKind: JsonValueKind.String } e => e.GetString(),
        JsonElement { ValueKind: JsonValueKind.Null } => null,
        JsonElement e => e.GetRawText(),
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonNode n => n.ToJsonString(Json),
        _ => JsonSerializer.Serialize(item, Json),
    };

    private static string? FormatJson(object value) => value switch
    {
        string s => ParseJson(s) is not null || s.Trim() == "null" ? s.Trim() : null,
        JsonElement e => e.GetRawText(),
        JsonNode n => n.ToJsonString(Json),
        _ => TrySerialize(value),
    };

    private static string? TrySerialize(object value)
    {
        try
        {
            return JsonSerializer.Serialize(value, Json);
        }
        catch (Exception e) when (e is NotSupportedException or InvalidOperationException)
        {
            return null;
        }
    }

    private static JsonNode? ParseJson(string text)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
