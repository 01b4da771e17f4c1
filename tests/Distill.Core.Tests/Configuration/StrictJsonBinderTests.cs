using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Distill.Core.Configuration;

namespace Distill.Core.Tests.Configuration;

public sealed class StrictJsonBinderTests
{
    public enum Mode { Fast, VerySlow }

    public sealed record Limits
    {
        [JsonPropertyName("rpm")] public int Rpm { get; init; } = 60;
        [JsonPropertyName("note")] public string? Note { get; init; }
    }

    public sealed record Settings
    {
        [JsonPropertyName("name")] public string Name { get; init; } = "x";
        [JsonPropertyName("mode")] public Mode Mode { get; init; }
        [JsonPropertyName("limits")] public Dictionary<string, Limits> Limits { get; init; } = [];
        [JsonPropertyName("ratio")] public double? Ratio { get; init; }
    }

    private static readonly JsonSerializerOptions Options = new()
    {
        RespectNullableAnnotations = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) },
    };

    private static Settings Bind(string json) =>
        StrictJsonBinder.Bind<Settings>((JsonObject)JsonNode.Parse(json)!, Options, key => key.StartsWith("limits", StringComparison.Ordinal) ? "--set" : "s.json", "test config", "fix it");

    [Fact]
    public void Valid_json_binds_with_snake_case_enums_dictionaries_and_nulls_where_allowed()
    {
        var settings = Bind("""{ "mode": "very_slow", "limits": { "a": { "rpm": 5, "note": null } }, "ratio": null }""");

        Assert.Equal(Mode.VerySlow, settings.Mode);
        Assert.Equal(5, settings.Limits["a"].Rpm);
        Assert.Null(settings.Ratio);
    }

    [Fact]
    public void Every_problem_is_named_by_its_colon_path_and_source_in_one_error()
    {
        var e = Assert.Throws<ConfigurationException>(() => Bind("""{ "nmae": "y", "mode": "slow", "limits": { "a": { "rpm": "x", "rmp": 1 } }, "name": null }"""));

        Assert.Equal(
            new[]
            {
                "setting 'nmae' in s.json: unknown setting (did you mean 'name'?)",
                "setting 'mode' in s.json: 'slow' is not a valid choice (one of: fast, very_slow)",
                "setting 'limits:a:rpm' in --set: 'x' is not a valid whole number",
                "setting 'limits:a:rmp' in --set: unknown setting (did you mean 'rpm'?)",
                "setting 'name' in s.json: must not be null",
            },
            e.Problems.Select(p => p.ToString()).ToArray());
        Assert.StartsWith("Invalid test config (5 problems): ", e.Message, StringComparison.Ordinal);
        Assert.Equal("fix it", e.Hint);
    }

    [Fact]
    public void Schema_key_is_ignored_at_the_root_only_and_the_callers_object_is_left_as_it_was()
    {
        var root = (JsonObject)JsonNode.Parse("""{ "$schema": "s.schema.json", "name": "y" }""")!;
        var strict = new JsonSerializerOptions(Options) { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow };

        var settings = StrictJsonBinder.Bind<Settings>(root, strict, _ => "s.json", "test config", "fix it");
        var nested = Assert.Throws<ConfigurationException>(() => Bind("""{ "limits": { "a": { "$schema": "x" } } }"""));

        Assert.Equal("y", settings.Name);
        Assert.True(root.ContainsKey("$schema"));
        Assert.Equal("limits:a:$schema", Assert.Single(nested.Problems).Key);
    }
}
