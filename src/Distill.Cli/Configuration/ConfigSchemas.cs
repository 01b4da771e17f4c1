using System.Text.Json.Nodes;
using Distill.Core.Configuration;
using Distill.Training.Config;

namespace Distill.Cli.Configuration;

/// <summary>
/// The JSON Schemas of Distill's two kinds of config file, generated from the typed options their binders read (train configs:
/// <see cref="TrainConfig"/> through <see cref="StrictJsonBinder"/>; appsettings.json: <see cref="DistillOptions"/> through
/// <see cref="StrictOptionsBinder"/>). The repository ships them under schemas/ and every preset names its own with "$schema";
/// a test regenerates them and fails when a shipped file is stale.
/// </summary>
public static class ConfigSchemas
{
    /// <summary>The kinds `distill config schema` takes, with the file each is shipped as (relative to the repository root).</summary>
    public static readonly IReadOnlyDictionary<string, string> ShippedFiles = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["train"] = "schemas/train-config.schema.json",
        ["settings"] = "schemas/appsettings.schema.json",
    };

    /// <summary>The schema of <paramref name="kind"/> (a key of <see cref="ShippedFiles"/>).</summary>
    public static JsonObject For(string kind) => kind switch
    {
        "train" => JsonSchemaGenerator.Generate(typeof(TrainConfig), TrainConfig.JsonOptions, "Distill train config"),
        "settings" => JsonSchemaGenerator.Generate(typeof(DistillOptions), SettingsJsonContract.Create(), "Distill settings (appsettings.json)"),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "expected train or settings"),
    };
}
