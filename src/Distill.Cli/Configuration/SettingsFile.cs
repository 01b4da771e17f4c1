using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Distill.Core.Configuration;

namespace Distill.Cli.Configuration;

/// <summary>
/// Writes <see cref="DistillOptions"/> as an appsettings.json that binds back to the same options, by serializing the typed
/// options: a setting added to an options class is carried over without anyone listing it (a field-by-field copy once dropped
/// a teacher's SendReasoning). Computed properties and nulls are left out; a [Secret] property is never written.
/// </summary>
public static class SettingsFile
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        IgnoreReadOnlyProperties = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { WithoutSecrets } },
    };

    public static string ToJson(DistillOptions options) => JsonSerializer.Serialize(options, Json);

    public static void Write(string path, DistillOptions options)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, ToJson(options) + "\n");
    }

    private static void WithoutSecrets(JsonTypeInfo info)
    {
        foreach (var property in info.Properties.Where(p => p.AttributeProvider?.IsDefined(typeof(SecretAttribute), inherit: true) == true).ToList())
        {
            info.Properties.Remove(property);
        }
    }
}
