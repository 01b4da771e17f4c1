using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Core.Errors;

namespace Distill.Core.Configuration;

/// <summary>
/// `--set` for a JSON configuration file (the train config): each <c>Section:Key=value</c> (see
/// <see cref="ConfigurationLoader.ParseOverride"/>) replaces or adds that key in the JSON tree before it is bound. The value is
/// read as JSON when it is JSON (<c>3</c>, <c>true</c>, <c>null</c>, <c>["a","b"]</c>, <c>{"kind":"linear"}</c>), else as text.
/// </summary>
public static class JsonOverrides
{
    /// <summary>Applies <paramref name="overrides"/> in order; returns the colon paths they set, for naming "--set" as a value's source.</summary>
    public static IReadOnlyList<string> Apply(JsonObject root, IEnumerable<string> overrides)
    {
        var applied = new List<string>();
        foreach (var item in overrides)
        {
            var (key, raw) = ConfigurationLoader.ParseOverride(item);
            var parts = key.Split(':');
            JsonNode node = root;
            for (var i = 0; i < parts.Length - 1; i++)
            {
                node = Child(node, parts[i], parts[..(i + 1)]);
            }
            Set(node, parts[^1], Value(raw), key);
            applied.Add(key);
        }
        return applied;
    }

    private static JsonNode Child(JsonNode parent, string part, string[] path)
    {
        if (parent is JsonArray array)
        {
            var index = Index(array, part, string.Join(':', path));
            return array[index] ?? throw NotAContainer(string.Join(':', path));
        }
        var obj = (JsonObject)parent;
        if (obj[part] is JsonObject or JsonArray) return obj[part]!;
        if (obj[part] is not null) throw NotAContainer(string.Join(':', path));
        var created = new JsonObject();
        obj[part] = created;
        return created;
    }

    private static void Set(JsonNode parent, string part, JsonNode? value, string key)
    {
        if (parent is JsonArray array)
        {
            var index = Index(array, part, key, allowAppend: true);
            if (index == array.Count) array.Add(value);
            else array[index] = value;
        }
        else
        {
            ((JsonObject)parent)[part] = value;
        }
    }

    private static int Index(JsonArray array, string part, string key, bool allowAppend = false)
    {
        var limit = allowAppend ? array.Count : array.Count - 1;
        if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var index) || index > limit)
        {
            throw new DistillException($"--set {key}: '{part}' is not an index of the list (it has {array.Count} items)",
                $"use an index from 0 to {limit}, or set the whole list as JSON, e.g. --set 'datasets=[\"a\",\"b\"]'");
        }
        return index;
    }

    private static DistillException NotAContainer(string key) =>
        new($"--set: '{key}' holds a single value, so it has no keys below it", "set it as a whole instead");

    private static JsonNode? Value(string raw)
    {
        try
        {
            return JsonNode.Parse(raw);
        }
        catch (JsonException)
        {
            return JsonValue.Create(raw);
        }
    }
}
