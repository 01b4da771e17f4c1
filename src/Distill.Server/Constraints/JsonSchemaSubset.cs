using System.Text;
using System.Text.Json;
using Distill.Models.Chat;

namespace Distill.Server.Constraints;

/// <summary>A schema keyword or shape that constrained decoding does not implement; <see cref="Path"/> says where (e.g. "properties.city.pattern").</summary>
public sealed class UnsupportedSchemaException(string message, string path) : Exception(message)
{
    public string Path { get; } = path;
}

/// <summary>Caps that keep a constrained value finite whatever the model does; a schema's own maxLength / maxItems tighten them.</summary>
public sealed record JsonGrammarLimits
{
    /// <summary>Characters per string (an escape or a multi-byte UTF-8 character counts as one).</summary>
    public int MaxStringLength { get; init; } = 2048;
    public int MaxArrayItems { get; init; } = 64;
    /// <summary>Digits before the decimal point (15 keeps every integer exact in a double and in a long).</summary>
    public int MaxIntegerDigits { get; init; } = 15;
    public int MaxFractionDigits { get; init; } = 15;
    public int MaxExponentDigits { get; init; } = 2;
}

/// <summary>
/// The part of JSON Schema that constrained decoding enforces, compiled into <see cref="SchemaNode"/>s:
/// <c>type</c> (one or a list: object, array, string, integer, number, boolean, null), <c>properties</c>, <c>required</c>,
/// <c>additionalProperties</c> (any value: extra keys are never generated, which every value of it allows),
/// <c>items</c>, <c>minItems</c>, <c>maxItems</c>, <c>minLength</c>, <c>maxLength</c>, <c>enum</c>, <c>const</c>, and the
/// annotations (<c>description</c>, <c>title</c>, <c>default</c>, <c>examples</c>, <c>format</c>, <c>$schema</c>, <c>x-*</c>, ...).
/// Anything else (<c>pattern</c>, <c>minimum</c>, <c>anyOf</c>, <c>$ref</c>, ...) is refused with
/// <see cref="UnsupportedSchemaException"/> rather than silently not enforced.
/// </summary>
public static class JsonSchemaSubset
{
    private static readonly HashSet<string> Annotations = new(StringComparer.Ordinal)
    {
        "description", "title", "default", "examples", "format", "$schema", "$id", "$comment", "deprecated", "readOnly",
        "writeOnly", "nullable", "strict",
    };

    private static readonly HashSet<string> Supported = new(StringComparer.Ordinal)
    {
        "type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems", "minLength", "maxLength",
        "enum", "const", "uniqueItems",
    };

    /// <param name="schema">A JSON Schema object, e.g. a function's "parameters".</param>
    /// <param name="path">Where the schema sits, for error messages.</param>
    public static SchemaNode Compile(JsonElement schema, JsonGrammarLimits limits, string path = "parameters")
    {
        if (schema.ValueKind != JsonValueKind.Object)
        {
            throw new UnsupportedSchemaException($"{path} must be a JSON Schema object.", path);
        }
        foreach (var property in schema.EnumerateObject())
        {
            var name = property.Name;
            if (!Supported.Contains(name) && !Annotations.Contains(name) && !name.StartsWith("x-", StringComparison.Ordinal))
            {
                throw new UnsupportedSchemaException(
                    $"{path}: the JSON Schema keyword '{name}' is not supported by constrained tool calls " +
                    $"(supported: {string.Join(", ", Supported.Order(StringComparer.Ordinal))}).", $"{path}.{name}");
            }
        }
        if (schema.TryGetProperty("uniqueItems", out var unique) && unique.ValueKind == JsonValueKind.True)
        {
            throw new UnsupportedSchemaException($"{path}: 'uniqueItems: true' is not supported by constrained tool calls.", $"{path}.uniqueItems");
        }
        if (schema.TryGetProperty("const", out var constant))
        {
            return new LiteralsNode([Literal(constant)]);
        }
        if (schema.TryGetProperty("enum", out var values))
        {
            if (values.ValueKind != JsonValueKind.Array || values.GetArrayLength() == 0)
            {
                throw new UnsupportedSchemaException($"{path}.enum must be a non-empty array.", $"{path}.enum");
            }
            return new LiteralsNode(values.EnumerateArray().Select(Literal).DistinctBy(Encoding.UTF8.GetString).ToArray());
        }

        var types = Types(schema, path);
        var options = new List<SchemaNode>();
        foreach (var type in types.Contains("number") ? types.Where(t => t != "integer") : types)
        {
            options.Add(type switch
            {
                "object" => CompileObject(schema, limits, path),
                "array" => CompileArray(schema, limits, path),
                "string" => new StringNode(
                    Count(schema, "minLength", path) ?? 0,
                    Math.Max(Count(schema, "minLength", path) ?? 0, Math.Min(Count(schema, "maxLength", path) ?? int.MaxValue, limits.MaxStringLength))),
                "integer" => new NumberNode(IntegerOnly: true, limits),
                "number" => new NumberNode(IntegerOnly: false, limits),
                "boolean" => new LiteralsNode([Ascii("true"), Ascii("false")]),
                "null" => new LiteralsNode([Ascii("null")]),
                _ => throw new UnsupportedSchemaException($"{path}.type '{type}' is not a JSON Schema type.", $"{path}.type"),
            });
        }
        return options.Count == 1 ? options[0] : new UnionNode(options);
    }

    private static List<string> Types(JsonElement schema, string path)
    {
        if (!schema.TryGetProperty("type", out var type))
        {
            if (schema.TryGetProperty("properties", out _))
            {
                return ["object"];
            }
            throw new UnsupportedSchemaException(
                $"{path} has no 'type' (any JSON value), which constrained tool calls do not support; give it a type, an enum or a const.", $"{path}.type");
        }
        List<string> types = type.ValueKind switch
        {
            JsonValueKind.String => [type.GetString()!],
            JsonValueKind.Array when type.EnumerateArray().All(t => t.ValueKind == JsonValueKind.String) && type.GetArrayLength() > 0 =>
                type.EnumerateArray().Select(t => t.GetString()!).Distinct().ToList(),
            _ => throw new UnsupportedSchemaException($"{path}.type must be a type name or a non-empty list of them.", $"{path}.type"),
        };
        return types;
    }

    private static ObjectNode CompileObject(JsonElement schema, JsonGrammarLimits limits, string path)
    {
        var required = new HashSet<string>(StringComparer.Ordinal);
        if (schema.TryGetProperty("required", out var requiredArray))
        {
            if (requiredArray.ValueKind != JsonValueKind.Array || requiredArray.EnumerateArray().Any(r => r.ValueKind != JsonValueKind.String))
            {
                throw new UnsupportedSchemaException($"{path}.required must be an array of property names.", $"{path}.required");
            }
            required.UnionWith(requiredArray.EnumerateArray().Select(r => r.GetString()!));
        }
        var properties = new List<PropertyNode>();
        if (schema.TryGetProperty("properties", out var declared))
        {
            if (declared.ValueKind != JsonValueKind.Object)
            {
                throw new UnsupportedSchemaException($"{path}.properties must be an object.", $"{path}.properties");
            }
            foreach (var property in declared.EnumerateObject())
            {
                var value = Compile(property.Value, limits, $"{path}.properties.{property.Name}");
                var key = Encoding.UTF8.GetBytes(PythonStyleJson.Serialize(JsonSerializer.SerializeToElement(property.Name)) + ": ");
                properties.Add(new PropertyNode(property.Name, key, value, required.Contains(property.Name)));
            }
        }
        var missing = required.Where(r => properties.All(p => p.Name != r)).ToList();
        if (missing.Count > 0)
        {
            throw new UnsupportedSchemaException(
                $"{path}.required names '{missing[0]}', which is not in {path}.properties; constrained tool calls only generate declared properties.",
                $"{path}.required");
        }
        return new ObjectNode(properties);
    }

    private static ArrayNode CompileArray(JsonElement schema, JsonGrammarLimits limits, string path)
    {
        if (!schema.TryGetProperty("items", out var items) || items.ValueKind != JsonValueKind.Object)
        {
            throw new UnsupportedSchemaException($"{path}: an array needs an 'items' schema object for constrained tool calls.", $"{path}.items");
        }
        var min = Count(schema, "minItems", path) ?? 0;
        var max = Math.Max(min, Math.Min(Count(schema, "maxItems", path) ?? int.MaxValue, limits.MaxArrayItems));
        return new ArrayNode(Compile(items, limits, $"{path}.items"), min, max);
    }

    private static int? Count(JsonElement schema, string keyword, string path)
    {
        if (!schema.TryGetProperty(keyword, out var value))
        {
            return null;
        }
        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var count) && count >= 0
            ? count
            : throw new UnsupportedSchemaException($"{path}.{keyword} must be a non-negative integer.", $"{path}.{keyword}");
    }

    private static byte[] Literal(JsonElement value) => Encoding.UTF8.GetBytes(PythonStyleJson.Serialize(value));

    internal static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);
}

/// <summary>A compiled schema. <see cref="MinBytes"/> is the length of its shortest valid serialization.</summary>
public abstract class SchemaNode
{
    public abstract int MinBytes { get; }

    /// <summary>Whether a value of this node can begin with <paramref name="b"/> (unions dispatch on it).</summary>
    internal abstract bool CanStartWith(byte b);

    internal abstract Frame Start();
}

public sealed class PropertyNode(string name, byte[] keyLiteral, SchemaNode value, bool required)
{
    public string Name { get; } = name;
    /// <summary>The key as written before its value: <c>"name": </c>.</summary>
    public byte[] KeyLiteral { get; } = keyLiteral;
    public SchemaNode Value { get; } = value;
    public bool Required { get; } = required;
}

/// <summary>
/// An object written as <c>{"a": 1, "b": 2}</c> (the separators <see cref="ChatTemplate"/> renders): declared properties only,
/// each at most once and in declaration order; optional ones may be skipped, required ones may not.
/// </summary>
public sealed class ObjectNode : SchemaNode
{
    private readonly int[] _restMin;
    private readonly int[][] _nextKeys;
    private readonly int[] _keyThenRestMin;

    public ObjectNode(IReadOnlyList<PropertyNode> properties)
    {
        Properties = properties;
        // _restMin[i + 1]: bytes to close the object after property i's value (i = -1: right after "{" with nothing written yet,
        // counted as if a separator were due, so the first property's ", " is subtracted where it does not apply).
        _restMin = new int[properties.Count + 1];
        for (var i = properties.Count - 1; i >= -1; i--)
        {
            var rest = 1;
            for (var k = i + 1; k < properties.Count; k++)
            {
                if (properties[k].Required)
                {
                    rest += 2 + properties[k].KeyLiteral.Length + properties[k].Value.MinBytes;
                }
            }
            _restMin[i + 1] = rest;
        }
        _nextKeys = new int[properties.Count + 1][];
        _keyThenRestMin = new int[properties.Count + 1];
        for (var last = -1; last < properties.Count; last++)
        {
            var next = new List<int>();
            for (var k = last + 1; k < properties.Count; k++)
            {
                next.Add(k);
                if (properties[k].Required)
                {
                    break;
                }
            }
            _nextKeys[last + 1] = next.ToArray();
            _keyThenRestMin[last + 1] = next.Select(k => properties[k].KeyLiteral.Length + properties[k].Value.MinBytes + RestMin(k))
                .DefaultIfEmpty(int.MaxValue / 4).Min();
        }
        MinBytes = 1 + FirstMin();
    }

    public IReadOnlyList<PropertyNode> Properties { get; }

    public override int MinBytes { get; }

    /// <summary>Bytes to finish after the value of property <paramref name="last"/> (-1: none yet) with only required properties.</summary>
    internal int RestMin(int last) => _restMin[last + 1];

    /// <summary>Bytes to finish right after "{".</summary>
    internal int FirstMin() => RequiredAfter(-1) ? RestMin(-1) - 2 : 1;

    internal bool RequiredAfter(int last)
    {
        for (var k = last + 1; k < Properties.Count; k++)
        {
            if (Properties[k].Required)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Properties that may come after property <paramref name="last"/>: later ones, up to and including the next required one.</summary>
    internal int[] NextKeys(int last) => _nextKeys[last + 1];

    /// <summary>Bytes to finish once a key among <see cref="NextKeys"/> of <paramref name="last"/> must still be written (keys included).</summary>
    internal int KeyThenRestMin(int last) => _keyThenRestMin[last + 1];

    internal override bool CanStartWith(byte b) => b == (byte)'{';

    internal override Frame Start() => new ObjectFrame(this, ObjectFrame.Phase.Open, -1);
}

public sealed class ArrayNode(SchemaNode items, int minItems, int maxItems) : SchemaNode
{
    public SchemaNode Items { get; } = items;
    public int MinItems { get; } = minItems;
    public int MaxItems { get; } = maxItems;

    public override int MinBytes => 2 + (MinItems == 0 ? 0 : MinItems * Items.MinBytes + 2 * (MinItems - 1));

    internal override bool CanStartWith(byte b) => b == (byte)'[';

    internal override Frame Start() => new ArrayFrame(this, ArrayFrame.Phase.Open, 0);
}

public sealed class StringNode(int minLength, int maxLength) : SchemaNode
{
    public int MinLength { get; } = minLength;
    public int MaxLength { get; } = maxLength;

    public override int MinBytes => 2 + MinLength;

    internal override bool CanStartWith(byte b) => b == (byte)'"';

    internal override Frame Start() => StringFrame.Opening(this);
}

public sealed class NumberNode(bool IntegerOnly, JsonGrammarLimits limits) : SchemaNode
{
    public bool IntegerOnly { get; } = IntegerOnly;
    public JsonGrammarLimits Limits { get; } = limits;

    public override int MinBytes => 1;

    internal override bool CanStartWith(byte b) => b == (byte)'-' || b is >= (byte)'0' and <= (byte)'9';

    internal override Frame Start() => new NumberFrame(this, NumberFrame.Phase.Start, 0);
}

/// <summary>One of a fixed set of JSON texts: enum, const, true/false, null.</summary>
public sealed class LiteralsNode(byte[][] options) : SchemaNode
{
    public byte[][] Options { get; } = options;

    public override int MinBytes => Options.Min(o => o.Length);

    internal override bool CanStartWith(byte b) => Options.Any(o => o.Length > 0 && o[0] == b);

    internal override Frame Start() => ChoiceFrame.Create(Options, tails: null);
}

/// <summary>A value of one of several types (<c>"type": ["string", "null"]</c>); their first bytes never overlap, so the first byte picks.</summary>
public sealed class UnionNode(IReadOnlyList<SchemaNode> options) : SchemaNode
{
    public IReadOnlyList<SchemaNode> Options { get; } = options;

    public override int MinBytes => Options.Min(o => o.MinBytes);

    internal override bool CanStartWith(byte b) => Options.Any(o => o.CanStartWith(b));

    internal override Frame Start() => new UnionFrame(this);
}
