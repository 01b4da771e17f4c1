using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Distill.Generation.Templates;

/// <summary>A YAML value and, inside a mapping, its key: where a problem with the value is reported.</summary>
internal sealed record YamlEntry(YamlNode? Key, YamlNode Value)
{
    /// <summary>The 1-based line within the YAML text: the key's for a mapping entry, else the value's.</summary>
    public long Line => (Key ?? Value).Start.Line;
}

/// <summary>YAML to JSON, with the YAML node behind every JSON value, so a JSON-schema failure maps back to a file line.</summary>
internal static class YamlJson
{
    /// <summary>
    /// Plain scalars that look like numbers, booleans or null (YAML 1.2 core schema) become those; quoted scalars and the
    /// rest stay strings. <paramref name="entries"/>, when given, receives each value's node by JSON pointer ("" for the root).
    /// </summary>
    public static JsonNode? ToJson(YamlNode node, Dictionary<string, YamlEntry>? entries = null, string pointer = "", YamlNode? key = null)
    {
        entries?.Add(pointer, new YamlEntry(key, node));
        return node switch
        {
            YamlMappingNode m => new JsonObject(m.Children.Select(kv =>
            {
                var name = (kv.Key as YamlScalarNode)?.Value ?? kv.Key.ToString();
                return KeyValuePair.Create(name, ToJson(kv.Value, entries, $"{pointer}/{Escape(name)}", kv.Key));
            })),
            YamlSequenceNode s => new JsonArray(s.Children.Select((c, i) => ToJson(c, entries, $"{pointer}/{i}")).ToArray()),
            YamlScalarNode { Style: ScalarStyle.Plain, Value: var v } => v switch
            {
                _ when IsNull(v) => null,
                "true" or "True" or "TRUE" => JsonValue.Create(true),
                "false" or "False" or "FALSE" => JsonValue.Create(false),
                _ when long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) => JsonValue.Create(l),
                _ when double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) => JsonValue.Create(d),
                _ => JsonValue.Create(v),
            },
            YamlScalarNode s => JsonValue.Create(s.Value ?? ""),
            _ => null,
        };
    }

    public static bool IsNull(YamlNode node) => node is YamlScalarNode { Style: ScalarStyle.Plain, Value: var v } && IsNull(v);

    /// <summary>A key as a JSON pointer segment (RFC 6901).</summary>
    public static string Escape(string key) => key.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    private static bool IsNull(string? value) => value is null or "" or "~" or "null" or "Null" or "NULL";
}
