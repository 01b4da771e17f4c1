using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Cli.Configuration;
using Distill.Core.Configuration;
using Json.Schema;

namespace Distill.Cli.Tests;

public sealed class ConfigSchemaTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("distill-schema-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("train")]
    [InlineData("settings")]
    public void Shipped_schema_is_the_one_the_options_generate(string kind)
    {
        var file = ConfigSchemas.ShippedFiles[kind];
        var shipped = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, file)));

        Assert.True(JsonNode.DeepEquals(shipped, ConfigSchemas.For(kind)),
            $"{file} is stale: regenerate it from the repository root with `distill config schema {kind} --out {file}`");
    }

    [Fact]
    public void Every_train_preset_names_the_train_schema_and_follows_it()
    {
        var presets = Directory.GetFiles(Path.Combine(RepoPaths.Root, "configs", "train"), "*.json");
        Assert.NotEmpty(presets);
        foreach (var preset in presets)
        {
            AssertNamesAndFollows(preset, "train");
        }
    }

    [Fact]
    public void Appsettings_names_the_settings_schema_and_follows_it() =>
        AssertNamesAndFollows(Path.Combine(RepoPaths.Root, "appsettings.json"), "settings");

    [Fact]
    public void Every_example_settings_and_train_config_names_its_schema_and_follows_it()
    {
        var folders = Directory.GetDirectories(Path.Combine(RepoPaths.Root, "examples"));
        var settings = folders.SelectMany(f => Directory.GetFiles(f, "appsettings.json")).ToList();
        var train = folders.SelectMany(f => Directory.GetFiles(f, "train*.json")).ToList();
        Assert.NotEmpty(settings);
        Assert.NotEmpty(train);
        foreach (var file in settings) AssertNamesAndFollows(file, "settings");
        foreach (var file in train) AssertNamesAndFollows(file, "train");
    }

    [Theory]
    [InlineData("train", """{ "optimiser": { "lr": 0.001 } }""", """{ "optimizer": { "lr": 0.001 } }""")]
    [InlineData("train", """{ "loss": { "kind": "kd" } }""", """{ "loss": { "kind": "topk_kd" } }""")]
    [InlineData("train", """{ "loss": { "temperature": { "kind": "linear", "strat": 2 } } }""", """{ "loss": { "temperature": { "kind": "linear", "start": 2 } } }""")]
    [InlineData("train", """{ "data": { "truncation": "Left" } }""", """{ "data": { "truncation": "left" } }""")]
    [InlineData("settings", """{ "Serve": { "Prot": 8080 } }""", """{ "Serve": { "Port": 8080 } }""")]
    [InlineData("settings", """{ "Teachers": [ { "Name": "a", "AttemptTimout": "00:00:05" } ] }""", """{ "Teachers": [ { "Name": "a", "AttemptTimeout": "00:00:05" } ] }""")]
    [InlineData("settings", """{ "Serve": { "IsLoopback": true } }""", """{ "Serve": { "GuideToolCalls": true } }""")]
    public void Schema_rejects_an_unknown_key_or_name_that_the_fixed_file_passes(string kind, string wrong, string fixedJson)
    {
        var schema = JsonSchema.FromText(ConfigSchemas.For(kind).ToJsonString());

        Assert.NotEmpty(Problems(schema, wrong));
        Assert.Empty(Problems(schema, fixedJson));
    }

    [Fact]
    public void Train_schema_has_the_binders_names_defaults_and_the_code_comments()
    {
        var properties = ConfigSchemas.For("train")["properties"]!;

        Assert.Equal("Optimizer steps in the run.", properties["steps"]!["description"]!.GetValue<string>());
        Assert.Equal(200, properties["steps"]!["default"]!.GetValue<int>());
        Assert.Equal(["sft", "topk_kd", "online_kd", "cot"],
            properties["loss"]!["properties"]!["kind"]!["enum"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.False(properties["loss"]!["additionalProperties"]!.GetValue<bool>());
        Assert.Equal("string", properties["$schema"]!["type"]!.GetValue<string>());
    }

    [Fact]
    public void Settings_schema_leaves_out_what_the_binder_refuses_and_describes_the_rest()
    {
        var properties = ConfigSchemas.For("settings")["properties"]!;

        Assert.Equal(["Host", "Port", "ApiKeyEnv", "MaxBatchSize", "MaxQueuedRequests", "GuideToolCalls", "DecodeWorkers"],
            properties["Serve"]!["properties"]!.AsObject().Select(p => p.Key));
        Assert.Equal("\"auto\" (cuda when available, else cpu), \"cpu\" or \"cuda\".", properties["Device"]!["description"]!.GetValue<string>());
        Assert.Equal("00:02:00", properties["Teachers"]!["items"]!["properties"]!["AttemptTimeout"]!["default"]!.GetValue<string>());
        Assert.Equal("\"azure-openai\" or \"openai-compatible\".",
            properties["Teachers"]!["items"]!["properties"]!["Provider"]!["description"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("train")]
    [InlineData("settings")]
    public void Every_key_has_a_description_for_the_editor_to_show(string kind)
    {
        List<string> undescribed = [];
        CollectUndescribed(ConfigSchemas.For(kind), "", undescribed);

        Assert.True(undescribed is [], $"keys without a description (add a /// <summary> to the option): {string.Join(", ", undescribed)}");
    }

    private static void CollectUndescribed(JsonNode? node, string path, List<string> undescribed)
    {
        if (node is not JsonObject schema) return;
        if (schema["properties"] is JsonObject properties)
        {
            foreach (var (key, property) in properties)
            {
                // "$schema" only points the editor at this file; it needs no text of its own.
                if (key != JsonSchemaGenerator.SchemaKey && property?["description"] is null) undescribed.Add($"{path}/{key}");
                CollectUndescribed(property, $"{path}/{key}", undescribed);
            }
        }
        CollectUndescribed(schema["items"], $"{path}/items", undescribed);
        CollectUndescribed(schema["additionalProperties"], $"{path}/*", undescribed);
    }

    [Fact]
    public async Task Config_schema_command_writes_the_schema_to_out_and_refuses_an_unknown_kind()
    {
        var file = Path.Combine(_dir, "nested", "train.schema.json");

        var written = await CliRun.RunAsync("config", "schema", "train", "--out", file);
        var refused = await CliRun.RunAsync("config", "schema", "model");

        Assert.True(written.ExitCode == 0, written.Error);
        Assert.Equal(JsonSchemaGenerator.ToFileText(ConfigSchemas.For("train")), await File.ReadAllTextAsync(file));
        Assert.NotEqual(0, refused.ExitCode);
    }

    /// <summary>The config at <paramref name="path"/> names the shipped <paramref name="kind"/> schema by $schema and follows it.</summary>
    internal static void AssertNamesAndFollows(string path, string kind)
    {
        var config = JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip })!;
        var named = config[JsonSchemaGenerator.SchemaKey]?.GetValue<string>();
        Assert.True(named is not null, $"{path} names no $schema");
        Assert.Equal(Path.GetFullPath(Path.Combine(RepoPaths.Root, ConfigSchemas.ShippedFiles[kind])),
            Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, named)));
        var schema = JsonSchema.FromText(File.ReadAllText(Path.Combine(RepoPaths.Root, ConfigSchemas.ShippedFiles[kind])));
        Assert.True(Problems(schema, config.ToJsonString()) is [], $"{path}: {string.Join("; ", Problems(schema, config.ToJsonString()))}");
    }

    private static List<string> Problems(JsonSchema schema, string json)
    {
        using var document = JsonDocument.Parse(json);
        var results = schema.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (results.IsValid) return [];
        List<string> problems = [.. (results.Details ?? []).Where(d => d.Errors is { Count: > 0 }).Select(d => $"{d.InstanceLocation}: {string.Join(", ", d.Errors!.Values)}")];
        return problems.Count > 0 ? problems : ["invalid (no error text)"];
    }
}
