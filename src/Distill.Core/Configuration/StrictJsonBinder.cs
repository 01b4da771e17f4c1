using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace Distill.Core.Configuration;

/// <summary>
/// Reads a JSON configuration (the train config) into a typed record through System.Text.Json and refuses what the record does
/// not understand, as <see cref="StrictOptionsBinder"/> does for appsettings: every unknown key (with a "did you mean"), every
/// value of the wrong type, every enum value outside its names, each named by its colon path (<c>optimizer:lr</c>, the path
/// `--set` takes) and where it came from, all in one error. Names are the JSON contract's (JsonPropertyName, the enum
/// converter's names), so the file, the errors and `--set` agree.
/// </summary>
public static class StrictJsonBinder
{
    /// <param name="sourceOf">Where a key's value came from (a file path, "--set"), for the messages; null when unknown.</param>
    /// <param name="what">What is bound, for the message ("train config").</param>
    /// <param name="fix">The hint shown after the problems.</param>
    /// <exception cref="ConfigurationException">Every problem found.</exception>
    public static T Bind<T>(JsonObject root, JsonSerializerOptions options, Func<string, string?> sourceOf, string what, string fix)
    {
        options.MakeReadOnly(populateMissingResolver: true);
        if (root.ContainsKey(JsonSchemaGenerator.SchemaKey))
        {
            // A config file may name its schema for editors; the record has no such key, so bind a copy without it.
            root = root.DeepClone().AsObject();
            root.Remove(JsonSchemaGenerator.SchemaKey);
        }
        var problems = new List<ConfigurationProblem>();
        Check(root, typeof(T), "", allowNull: false, options, sourceOf, problems);
        if (problems.Count == 0)
        {
            try
            {
                if (root.Deserialize<T>(options) is { } value)
                {
                    return value;
                }
                problems.Add(new(what, null, "is empty"));
            }
            catch (JsonException e)
            {
                // The walk above finds what System.Text.Json refuses; this keeps a case it misses readable all the same.
                var path = ColonPath(e.Path);
                problems.Add(new(path, sourceOf(path), FirstSentence(e.Message)));
            }
        }
        throw new ConfigurationException(problems, what, fix);
    }

    private static void Check(JsonNode? node, Type type, string path, bool allowNull, JsonSerializerOptions options,
        Func<string, string?> sourceOf, List<ConfigurationProblem> problems)
    {
        var underlying = Nullable.GetUnderlyingType(type);
        if (node is null)
        {
            if (!allowNull && underlying is null)
            {
                problems.Add(new(path, sourceOf(path), "must not be null"));
            }
            return;
        }
        type = underlying ?? type;
        var info = options.GetTypeInfo(type);
        switch (info.Kind)
        {
            case JsonTypeInfoKind.Object when node is JsonObject obj:
                var properties = info.Properties.Where(p => p.Set is not null).ToDictionary(p => p.Name, StringComparer.Ordinal);
                foreach (var (key, value) in obj)
                {
                    var childPath = Join(path, key);
                    if (properties.TryGetValue(key, out var property))
                    {
                        Check(value, property.PropertyType, childPath, property.IsSetNullable, options, sourceOf, problems);
                        continue;
                    }
                    var suggestion = NameSuggestion.Closest(key, properties.Keys);
                    problems.Add(new(childPath, sourceOf(childPath),
                        "unknown setting" + (suggestion is null ? "" : $" (did you mean '{suggestion}'?)")));
                }
                return;
            case JsonTypeInfoKind.Enumerable when node is JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    Check(array[i], info.ElementType!, Join(path, i.ToString(CultureInfo.InvariantCulture)), allowNull: false, options,
                        sourceOf, problems);
                }
                return;
            case JsonTypeInfoKind.Dictionary when node is JsonObject map:
                foreach (var (key, value) in map)
                {
                    Check(value, info.ElementType!, Join(path, key), allowNull: false, options, sourceOf, problems);
                }
                return;
            case JsonTypeInfoKind.Object or JsonTypeInfoKind.Dictionary:
                problems.Add(new(path, sourceOf(path), $"expected an object, found {Describe(node)}"));
                return;
            case JsonTypeInfoKind.Enumerable:
                problems.Add(new(path, sourceOf(path), $"expected a list, found {Describe(node)}"));
                return;
            default:
                CheckScalar(node, type, path, options, sourceOf, problems);
                return;
        }
    }

    private static void CheckScalar(JsonNode node, Type type, string path, JsonSerializerOptions options,
        Func<string, string?> sourceOf, List<ConfigurationProblem> problems)
    {
        if (node is JsonObject or JsonArray)
        {
            problems.Add(new(path, sourceOf(path), $"expected a single {FriendlyName(type)} value, found {Describe(node)}"));
            return;
        }
        try
        {
            node.Deserialize(type, options);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            problems.Add(new(path, sourceOf(path), $"{Describe(node)} is not a valid {FriendlyName(type)}{EnumHint(type, options)}"));
        }
    }

    private static string Join(string path, string key) => path.Length == 0 ? key : $"{path}:{key}";

    private static string Describe(JsonNode node) => node switch
    {
        JsonObject => "an object",
        JsonArray => "a list",
        JsonValue value when value.GetValueKind() == JsonValueKind.String => $"'{value.GetValue<string>()}'",
        _ => node.ToJsonString(),
    };

    private static string FriendlyName(Type type) => ConfigTypeNames.Friendly(type);

    /// <summary>The enum's names as the configured converter writes them, e.g. " (one of: sft, topk_kd, online_kd, cot)".</summary>
    private static string EnumHint(Type type, JsonSerializerOptions options) => type.IsEnum
        ? $" (one of: {string.Join(", ", Enum.GetValues(type).Cast<object>().Select(v => JsonSerializer.Serialize(v, type, options).Trim('"')))})"
        : "";

    /// <summary>"$.optimizer.lr" or "$.datasets[0]" as "optimizer:lr" or "datasets:0".</summary>
    private static string ColonPath(string? jsonPath) => (jsonPath ?? "").TrimStart('$').TrimStart('.')
        .Replace("['", ":").Replace("']", "").Replace('.', ':').Replace('[', ':').Replace("]", "");

    private static string FirstSentence(string message)
    {
        var i = message.IndexOf(". Path", StringComparison.Ordinal);
        return i > 0 ? message[..i] : message;
    }
}
