using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Generation.Schemas;
using Json.Schema;
using Microsoft.SemanticKernel;

namespace Distill.Generation.Tools;

/// <summary>
/// A tool's full argument schema (the one offered to the teacher, with no keys beyond those declared), checked with
/// JsonSchema.Net: required keys, types, enums and nested objects and arrays at any depth. Each problem names the argument
/// ('where.lat', 'tags[1]') and the schema path of the rule it breaks, so the teacher can correct the call.
/// </summary>
public sealed class ToolArgumentSchema
{
    private static readonly EvaluationOptions Hierarchical = new() { OutputFormat = OutputFormat.Hierarchical };

    // Keywords that only apply subschemas: the subschema that failed says what is wrong.
    private static readonly HashSet<string> Applicators =
        ["properties", "patternProperties", "items", "prefixItems", "allOf", "anyOf", "oneOf", "if", "then", "else", "$ref", "$defs"];

    private readonly JsonSchema _schema;
    private readonly JsonObject _document;

    public ToolArgumentSchema(KernelFunction function)
    {
        _document = ToolSchemas.Parameters(function);
        _document["additionalProperties"] = false;
        _schema = JsonSchema.FromText(_document.ToJsonString());
    }

    /// <summary>The problems with <paramref name="arguments"/>; empty when the call may run.</summary>
    public List<string> Problems(JsonElement arguments)
    {
        var results = _schema.Evaluate(arguments, Hierarchical);
        if (results.IsValid)
        {
            return [];
        }

        var problems = new List<string>();
        foreach (var detail in SchemaFailures.Failed(results))
        {
            var instance = SchemaFailures.Segments(detail.InstanceLocation.ToString());
            var schemaPath = SchemaFailures.RulePath(detail, _document);
            var rule = SchemaFailures.Resolve(_document, schemaPath) as JsonObject;
            if (SchemaFailures.Segments(schemaPath).LastOrDefault() == "additionalProperties")
            {
                problems.Add($"unknown argument '{Name(instance)}' (not in {Parent(schemaPath)}/properties)");
                continue;
            }

            foreach (var (keyword, message) in (detail.Errors ?? new Dictionary<string, string>()).Where(e => !Applicators.Contains(e.Key)))
            {
                var at = $"{schemaPath}/{keyword}";
                var value = Resolve(arguments, instance);
                problems.Add(keyword switch
                {
                    // JsonSchema.Net may report a key that `additionalProperties: false` rejects here or on its own node (above).
                    "additionalProperties" => string.Join("; ", Unknown(rule, value).Select(k => $"unknown argument '{Name([.. instance, k])}' (not in {schemaPath}/properties)")),
                    "required" => string.Join("; ", Missing(rule, value).Select(m => $"required argument '{Name([.. instance, m])}' is missing ({at})")),
                    "type" => $"'{Name(instance)}' must be {Types(rule)}, not {Kind(value)} ({at})",
                    "enum" => $"'{Name(instance)}' must be one of {string.Join(", ", rule?["enum"]?.AsArray().Select(e => e?.ToJsonString()) ?? [])}, not {value?.GetRawText()} ({at})",
                    _ => $"'{Name(instance)}': {message} ({at})",
                });
            }
        }

        return problems.Where(p => p.Length > 0).Distinct().ToList();
    }

    /// <summary>'where.lat', 'tags[1]'; the whole arguments object is 'arguments'.</summary>
    private static string Name(IReadOnlyList<string> segments) =>
        segments.Count == 0
            ? "arguments"
            : string.Concat(segments.Select((s, i) => int.TryParse(s, out _) ? $"[{s}]" : i == 0 ? s : "." + s));

    private static IEnumerable<string> Missing(JsonObject? rule, JsonElement? value) =>
        rule?["required"]?.AsArray().Select(r => r!.GetValue<string>())
            .Where(r => value is not { ValueKind: JsonValueKind.Object } o || !o.TryGetProperty(r, out _)) ?? [];

    private static IEnumerable<string> Unknown(JsonObject? rule, JsonElement? value) =>
        value is { ValueKind: JsonValueKind.Object } o
            ? o.EnumerateObject().Select(p => p.Name).Where(n => rule?["properties"]?[n] is null)
            : [];

    private static string Types(JsonObject? rule) => rule?["type"] switch
    {
        JsonArray many => string.Join(" or ", many.Select(t => t!.GetValue<string>())),
        JsonValue one => one.GetValue<string>(),
        _ => "valid",
    };

    private static string Kind(JsonElement? value) => value?.ValueKind switch
    {
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Number => value.Value.TryGetInt64(out _) ? "integer" : "number",
        { } kind => kind.ToString().ToLowerInvariant(),
        null => "missing",
    };

    private static string Parent(string pointer) => pointer[..Math.Max(pointer.LastIndexOf('/'), 0)];

    private static JsonElement? Resolve(JsonElement element, IEnumerable<string> segments)
    {
        JsonElement? node = element;
        foreach (var segment in segments)
        {
            node = node switch
            {
                { ValueKind: JsonValueKind.Object } o when o.TryGetProperty(segment, out var child) => child,
                { ValueKind: JsonValueKind.Array } a when int.TryParse(segment, out var i) && i < a.GetArrayLength() => a[i],
                _ => null,
            };
        }

        return node;
    }
}
