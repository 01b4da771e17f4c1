using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Schema;
using System.Text.Json.Serialization.Metadata;

namespace Distill.Core.Configuration;

/// <summary>
/// A JSON Schema (draft 2020-12) for a typed configuration, made by System.Text.Json's <see cref="JsonSchemaExporter"/> from the
/// same <see cref="JsonSerializerOptions"/> its binder reads with, so the schema's keys, enum names and <c>additionalProperties:
/// false</c> are the binder's own. Each key gets its code comment's summary as <c>description</c> (<see cref="XmlDocSummaries"/>)
/// and, for values and lists, its default as <c>default</c>. The root also allows <see cref="SchemaKey"/>, which both binders ignore,
/// so a file can name its schema for editors.
/// </summary>
public static class JsonSchemaGenerator
{
    /// <summary>The key a config file names its schema with; the binders skip it at the root.</summary>
    public const string SchemaKey = "$schema";

    public const string Draft202012 = "https://json-schema.org/draft/2020-12/schema";

    /// <param name="type">The options type the binder binds.</param>
    /// <param name="options">The options the binder reads with (made read-only here, as binding does).</param>
    /// <param name="title">The schema's title (editors show it).</param>
    public static JsonObject Generate(Type type, JsonSerializerOptions options, string title)
    {
        options.MakeReadOnly(populateMissingResolver: true);
        var defaults = new ConcurrentDictionary<Type, object?>();
        var exported = options.GetJsonSchemaAsNode(type, new JsonSchemaExporterOptions
        {
            TreatNullObliviousAsNonNullable = true,
            TransformSchemaNode = (context, node) => Annotate(context, node, options, defaults),
        }).AsObject();

        // allowComments is VS Code's own keyword: both binders read comments, and the presets and appsettings.json have them.
        var root = new JsonObject { [SchemaKey] = Draft202012, ["title"] = title, ["allowComments"] = true };
        foreach (var (key, value) in exported.ToList())
        {
            exported.Remove(key);
            if (key == "properties" && value is JsonObject properties)
            {
                var withSchemaKey = new JsonObject
                {
                    [SchemaKey] = new JsonObject { ["description"] = "The schema this file follows (for editors); ignored by Distill.", ["type"] = "string" },
                };
                foreach (var (name, property) in properties.ToList())
                {
                    properties.Remove(name);
                    withSchemaKey[name] = property;
                }
                root[key] = withSchemaKey;
                continue;
            }
            root[key] = value;
        }
        return root;
    }

    /// <summary>The schema as a file holds it: indented, ending with a newline.</summary>
    public static string ToFileText(JsonObject schema) => schema.ToJsonString(FileFormat) + "\n";

    // Relaxed escaping keeps quotes, apostrophes and '+' readable in the descriptions; the file is never embedded in HTML.
    private static readonly JsonSerializerOptions FileFormat = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static JsonNode Annotate(JsonSchemaExporterContext context, JsonNode node, JsonSerializerOptions options,
        ConcurrentDictionary<Type, object?> defaults)
    {
        if (node is not JsonObject schema || context.PropertyInfo is not { } property) return node;
        var member = property.AttributeProvider as PropertyInfo;
        var description = (member is null ? null : XmlDocSummaries.Of(member)) ?? DescriptionOfType(property.PropertyType);
        if (description is not null) schema["description"] = description;
        if (DefaultOf(property, options, defaults) is { } value and (JsonValue or JsonArray)) schema["default"] = value;
        return schema;
    }

    private static string? DescriptionOfType(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.Assembly == typeof(object).Assembly ? null : XmlDocSummaries.Of(type);
    }

    /// <summary>The property's value in a new instance of its declaring type, as the binder would leave it when the key is absent.</summary>
    private static JsonNode? DefaultOf(JsonPropertyInfo property, JsonSerializerOptions options, ConcurrentDictionary<Type, object?> defaults)
    {
        var instance = defaults.GetOrAdd(property.DeclaringType, type =>
            type.GetConstructor(Type.EmptyTypes) is null ? null : Activator.CreateInstance(type));
        if (instance is null || property.Get is null) return null;
        var value = property.Get(instance);
        return value is null ? null : JsonSerializer.SerializeToNode(value, property.PropertyType, options);
    }
}
