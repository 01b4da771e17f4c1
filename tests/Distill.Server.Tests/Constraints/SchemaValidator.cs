using System.Globalization;
using System.Text.Json;

namespace Distill.Server.Tests.Constraints;

/// <summary>
/// An independent check of a JSON value against the JSON Schema keywords constrained decoding supports, written from the
/// JSON Schema spec rather than from the grammar, so tests do not grade the grammar with itself.
/// </summary>
public static class SchemaValidator
{
    /// <returns>The problems found; empty when the value is valid.</returns>
    public static List<string> Validate(JsonElement value, JsonElement schema, string path = "$")
    {
        var errors = new List<string>();
        Check(value, schema, path, errors);
        return errors;
    }

    private static void Check(JsonElement value, JsonElement schema, string path, List<string> errors)
    {
        if (schema.TryGetProperty("const", out var constant) && !JsonElement.DeepEquals(value, constant))
        {
            errors.Add($"{path}: not the const {constant.GetRawText()}");
        }
        if (schema.TryGetProperty("enum", out var values) && !values.EnumerateArray().Any(v => JsonElement.DeepEquals(v, value)))
        {
            errors.Add($"{path}: {value.GetRawText()} is not in the enum");
        }
        if (schema.TryGetProperty("type", out var type))
        {
            var types = type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString()!).ToList() : [type.GetString()!];
            if (!types.Any(t => HasType(value, t)))
            {
                errors.Add($"{path}: {value.GetRawText()} is not of type {string.Join("|", types)}");
                return;
            }
        }
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                var declared = schema.TryGetProperty("properties", out var properties) ? properties : default;
                if (schema.TryGetProperty("required", out var required))
                {
                    foreach (var name in required.EnumerateArray().Select(r => r.GetString()!))
                    {
                        if (!value.TryGetProperty(name, out _))
                        {
                            errors.Add($"{path}: required property '{name}' is missing");
                        }
                    }
                }
                var seen = new HashSet<string>();
                foreach (var property in value.EnumerateObject())
                {
                    if (!seen.Add(property.Name))
                    {
                        errors.Add($"{path}: property '{property.Name}' appears twice");
                    }
                    if (declared.ValueKind == JsonValueKind.Object && declared.TryGetProperty(property.Name, out var propertySchema))
                    {
                        Check(property.Value, propertySchema, $"{path}.{property.Name}", errors);
                    }
                    else if (schema.TryGetProperty("additionalProperties", out var additional) && additional.ValueKind == JsonValueKind.False)
                    {
                        errors.Add($"{path}: additional property '{property.Name}'");
                    }
                }
                break;
            case JsonValueKind.Array:
                var count = value.GetArrayLength();
                if (schema.TryGetProperty("minItems", out var minItems) && count < minItems.GetInt32())
                {
                    errors.Add($"{path}: {count} items, fewer than minItems");
                }
                if (schema.TryGetProperty("maxItems", out var maxItems) && count > maxItems.GetInt32())
                {
                    errors.Add($"{path}: {count} items, more than maxItems");
                }
                if (schema.TryGetProperty("items", out var items))
                {
                    var i = 0;
                    foreach (var item in value.EnumerateArray())
                    {
                        Check(item, items, $"{path}[{i++}]", errors);
                    }
                }
                break;
            case JsonValueKind.String:
                var length = new StringInfoLength(value.GetString()!).Value;
                if (schema.TryGetProperty("minLength", out var minLength) && length < minLength.GetInt32())
                {
                    errors.Add($"{path}: shorter than minLength");
                }
                if (schema.TryGetProperty("maxLength", out var maxLength) && length > maxLength.GetInt32())
                {
                    errors.Add($"{path}: longer than maxLength");
                }
                break;
        }
    }

    private static bool HasType(JsonElement value, string type) => type switch
    {
        "object" => value.ValueKind == JsonValueKind.Object,
        "array" => value.ValueKind == JsonValueKind.Array,
        "string" => value.ValueKind == JsonValueKind.String,
        "number" => value.ValueKind == JsonValueKind.Number,
        "integer" => value.ValueKind == JsonValueKind.Number && decimal.TryParse(value.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d == decimal.Truncate(d),
        "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "null" => value.ValueKind == JsonValueKind.Null,
        _ => false,
    };

    /// <summary>JSON Schema lengths count Unicode code points, not UTF-16 units.</summary>
    private readonly struct StringInfoLength(string text)
    {
        public int Value { get; } = text.EnumerateRunes().Count();
    }
}
