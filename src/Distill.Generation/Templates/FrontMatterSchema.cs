using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Generation.Schemas;
using Json.Schema;

namespace Distill.Generation.Templates;

/// <summary>One failed rule: where (a JSON pointer into the front matter) and the message for the template author.</summary>
/// <param name="Required">True when a required key is missing from the object at <paramref name="Pointer"/>.</param>
internal sealed record SchemaFailure(string Pointer, string Message, bool Required);

/// <summary>
/// Checks front matter, as JSON, against the embedded <c>front-matter.schema.json</c> with JsonSchema.Net. Every failure
/// gets the text of the failing schema's <c>errorMessage</c>, with its placeholders filled in.
/// </summary>
internal static class FrontMatterSchema
{
    private const string ResourceName = "Distill.Generation.Templates.front-matter.schema.json";

    // Keywords that only apply subschemas: their failures are reported by the subschema that failed.
    private static readonly HashSet<string> Applicators =
        ["allOf", "anyOf", "oneOf", "if", "then", "else", "properties", "patternProperties", "additionalProperties", "items", "prefixItems", "propertyNames", "$ref"];

    /// <summary>The schema as JSON, for the <c>errorMessage</c>, <c>enum</c> and <c>required</c> lookups.</summary>
    internal static readonly JsonObject Document = LoadDocument();

    private static readonly JsonSchema Schema = JsonSchema.FromText(Document.ToJsonString());

    public static List<SchemaFailure> Check(JsonNode? instance)
    {
        using var json = JsonDocument.Parse(instance?.ToJsonString() ?? "null");
        var results = Schema.Evaluate(json.RootElement, new EvaluationOptions { OutputFormat = global::Json.Schema.OutputFormat.Hierarchical });
        var failures = new List<SchemaFailure>();
        foreach (var detail in SchemaFailures.Failed(results))
        {
            var pointer = detail.InstanceLocation.ToString();
            var schema = Resolve(Document, SchemaFailures.RulePath(detail, Document)) as JsonObject;
            if (detail.Errors is not { Count: > 0 } errors)
            {
                // JsonSchema.Net 8 gives a failed `not` no error text; such a node fails on its own (no failed child explains it).
                if (schema?["not"] is null || detail.Details?.Any(d => !d.IsValid) == true)
                {
                    continue;
                }

                errors = new Dictionary<string, string> { ["not"] = "must not be present" };
            }

            foreach (var (keyword, libraryMessage) in errors)
            {
                var template = MessageTemplate(schema, keyword);
                if (template is null && Applicators.Contains(keyword))
                {
                    continue;
                }

                template ??= $"'{Dotted(pointer)}' {libraryMessage}";
                var value = Resolve(instance, pointer);
                if (keyword == "required")
                {
                    var present = (value as JsonObject)?.Select(p => p.Key).ToHashSet() ?? [];
                    foreach (var missing in schema?["required"]?.AsArray().Select(r => r!.GetValue<string>()).Where(r => !present.Contains(r)) ?? [])
                    {
                        var hint = schema?["properties"]?[missing]?["description"]?.GetValue<string>() ?? "";
                        failures.Add(new(pointer, Fill(template, pointer, value, schema, missing, hint), Required: true));
                    }
                }
                else
                {
                    failures.Add(new(pointer, Fill(template, pointer, value, schema, "", ""), Required: false));
                }
            }
        }

        return failures.Distinct().ToList();
    }

    /// <summary>The node a JSON pointer names, or null.</summary>
    internal static JsonNode? Resolve(JsonNode? root, string pointer) => SchemaFailures.Resolve(root, pointer);

    private static string? MessageTemplate(JsonObject? schema, string keyword) => schema?["errorMessage"] switch
    {
        JsonValue text => text.GetValue<string>(),
        JsonObject byKeyword => byKeyword[keyword]?.GetValue<string>(),
        _ => null,
    };

    private static string Fill(string template, string pointer, JsonNode? value, JsonObject? schema, string missing, string hint)
    {
        var segments = SchemaFailures.Segments(pointer).ToList();
        return template
            .Replace("{name}", segments.LastOrDefault() ?? "", StringComparison.Ordinal)
            .Replace("{parent}", segments.Count > 1 ? segments[^2] : "", StringComparison.Ordinal)
            .Replace("{value}", value is JsonValue v && v.TryGetValue<string>(out var s) ? s : value?.ToJsonString() ?? "null", StringComparison.Ordinal)
            .Replace("{enum}", string.Join(", ", schema?["enum"]?.AsArray().Select(e => e!.GetValue<string>()) ?? []), StringComparison.Ordinal)
            .Replace("{missing}", missing, StringComparison.Ordinal)
            .Replace("{hint}", hint, StringComparison.Ordinal);
    }

    private static string Dotted(string pointer) => string.Join('.', SchemaFailures.Segments(pointer));

    private static JsonObject LoadDocument()
    {
        using var stream = typeof(FrontMatterSchema).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"embedded resource {ResourceName} is missing from the build");
        return JsonNode.Parse(stream)!.AsObject();
    }
}
