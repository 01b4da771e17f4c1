using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Distill.Models.Chat;

/// <summary>
/// JSON written the way the Jinja <c>tojson</c> filter of Hugging Face chat templates writes it (Python's
/// <c>json.dumps(ensure_ascii=False)</c>: ", " and ": " separators, key order kept, non-ASCII unescaped), so our
/// rendering is byte-identical to what transformers produces for Qwen2.5.
/// </summary>
public static class PythonStyleJson
{
    public static string Serialize(JsonElement element)
    {
        var text = new StringBuilder();
        Write(element, text);
        return text.ToString();
    }

    /// <summary>The same value without any whitespace between tokens, keys in their original order (the OpenAI style for arguments).</summary>
    public static string Compact(JsonElement element) =>
        JsonSerializer.Serialize(element, new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    private static void Write(JsonElement element, StringBuilder text)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                text.Append('{');
                var firstProperty = true;
                foreach (var property in element.EnumerateObject())
                {
                    if (!firstProperty)
                    {
                        text.Append(", ");
                    }
                    firstProperty = false;
                    WriteString(property.Name, text);
                    text.Append(": ");
                    Write(property.Value, text);
                }
                text.Append('}');
                break;
            case JsonValueKind.Array:
                text.Append('[');
                var firstItem = true;
                foreach (var item in element.EnumerateArray())
                {
                    if (!firstItem)
                    {
                        text.Append(", ");
                    }
                    firstItem = false;
                    Write(item, text);
                }
                text.Append(']');
                break;
            case JsonValueKind.String:
                WriteString(element.GetString()!, text);
                break;
            default:
                // Numbers, true, false, null: their JSON text is already what Python writes (numbers as given).
                text.Append(element.GetRawText());
                break;
        }
    }

    private static void WriteString(string value, StringBuilder text)
    {
        text.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                case '\b': text.Append("\\b"); break;
                case '\f': text.Append("\\f"); break;
                case < ' ': text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)); break;
                default: text.Append(c); break;
            }
        }
        text.Append('"');
    }
}
