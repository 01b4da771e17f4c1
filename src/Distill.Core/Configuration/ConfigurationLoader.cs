using System.Text.Json;
using Distill.Core.Errors;
using Microsoft.Extensions.Configuration;

namespace Distill.Core.Configuration;

/// <summary>What to load: the settings file, its environment overlay, and command-line overrides.</summary>
/// <param name="SettingsFile">appsettings.json to use; null searches the current folder, then the app folder.</param>
/// <param name="Environment">Loads appsettings.{Environment}.json beside the settings file when set (DISTILL_ENVIRONMENT).</param>
/// <param name="Overrides">"Key:Path=value" pairs from `--set`; they win over everything else.</param>
/// <param name="UserSecretsId">Enables `dotnet user-secrets` for API keys when set.</param>
public sealed record ConfigurationRequest(
    string? SettingsFile = null,
    string? Environment = null,
    IReadOnlyList<string>? Overrides = null,
    string? UserSecretsId = null);

/// <summary>
/// Builds the layered configuration: appsettings.json, appsettings.{Environment}.json, user secrets,
/// DISTILL__-prefixed environment variables, then `--set` overrides (later layers win).
/// </summary>
public static class ConfigurationLoader
{
    public const string EnvironmentVariablePrefix = "DISTILL__";
    public const string SettingsFileName = "appsettings.json";

    public static IConfigurationRoot Load(ConfigurationRequest request)
    {
        var settingsFile = ResolveSettingsFile(request.SettingsFile);
        var builder = new ConfigurationBuilder();
        if (settingsFile is not null)
        {
            AddJsonFile(builder, settingsFile, optional: false);
            if (!string.IsNullOrWhiteSpace(request.Environment))
            {
                var overlay = Path.Combine(Path.GetDirectoryName(settingsFile)!, $"appsettings.{request.Environment}.json");
                AddJsonFile(builder, overlay, optional: true);
            }
        }
        if (request.UserSecretsId is not null)
        {
            builder.AddUserSecrets(request.UserSecretsId, reloadOnChange: false);
        }
        builder.AddEnvironmentVariables(EnvironmentVariablePrefix);
        builder.AddInMemoryCollection(ParseOverrides(request.Overrides ?? []));

        try
        {
            return builder.Build();
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or JsonException or IOException)
        {
            // The JSON provider wraps parse errors without a friendly location; name the file ourselves.
            throw new DistillException(
                $"Cannot read settings file '{settingsFile}': {Innermost(e).Message}",
                "Fix the JSON syntax (a trailing comma or a missing quote is the usual cause).", e);
        }
    }

    /// <summary>The settings file used: an explicit path must exist; otherwise the current folder's, then the app's.</summary>
    public static string? ResolveSettingsFile(string? explicitPath)
    {
        if (explicitPath is not null)
        {
            var full = Path.GetFullPath(explicitPath);
            if (!File.Exists(full))
            {
                throw new DistillException($"Settings file '{explicitPath}' does not exist.",
                    "Pass an existing file with --config, or leave --config out to use ./appsettings.json.");
            }
            return full;
        }
        foreach (var folder in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            var candidate = Path.Combine(folder, SettingsFileName);
            if (File.Exists(candidate))
            {
                return Path.GetFullPath(candidate);
            }
        }
        return null;
    }

    private static void AddJsonFile(ConfigurationBuilder builder, string path, bool optional)
    {
        // Parse once ourselves so a syntax error names the file, line and position instead of a provider stack trace.
        if (File.Exists(path))
        {
            try
            {
                using var stream = File.OpenRead(path);
                using var _ = JsonDocument.Parse(stream, new JsonDocumentOptions
                {
                    CommentHandling = JsonCommentHandling.Skip,
                    AllowTrailingCommas = false,
                });
            }
            catch (JsonException e)
            {
                throw new DistillException(
                    $"Settings file '{path}' is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}).",
                    "Fix the JSON syntax at that position.", e);
            }
            catch (UnauthorizedAccessException e)
            {
                throw new DistillException($"Settings file '{path}' cannot be read: permission denied.",
                    "Make the file readable by this user.", e);
            }
        }
        builder.AddJsonFile(path, optional, reloadOnChange: false);
    }

    private static IEnumerable<KeyValuePair<string, string?>> ParseOverrides(IReadOnlyList<string> overrides) =>
        overrides.Select(item =>
        {
            var (key, value) = ParseOverride(item);
            return new KeyValuePair<string, string?>(key, value);
        });

    /// <summary>
    /// One `--set` item as (colon path, raw value). The same syntax serves appsettings and train configs: `Section:Key=value`,
    /// with `Section.Key` and `Section__Key` accepted as well, as users type all three.
    /// </summary>
    public static (string Key, string Value) ParseOverride(string item)
    {
        var separator = item.IndexOf('=');
        if (separator <= 0)
        {
            throw new DistillException($"Override '{item}' is not of the form key=value.",
                "Write --set Section:Key=value, for example --set Paths:Runs=/data/runs (for distill train: --set optimizer:lr=1e-3).");
        }
        var key = item[..separator].Trim().Replace("__", ":").Replace('.', ':');
        return (key, item[(separator + 1)..]);
    }

    private static Exception Innermost(Exception e) => e.InnerException is null ? e : Innermost(e.InnerException);
}
