using System.Collections;
using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.Configuration.Memory;

namespace Distill.Core.Configuration;

/// <summary>
/// Binds configuration to a typed options record and refuses anything the record does not understand:
/// unknown keys (with a "did you mean"), values of the wrong type, secrets in files, and whatever the records'
/// own <see cref="IValidatableOptions.Validate"/> reports. All problems are collected before failing, so one run
/// of the user's command shows everything to fix.
/// </summary>
public static class StrictOptionsBinder
{
    public static T Bind<T>(IConfigurationRoot root) where T : new()
    {
        var problems = new List<ConfigurationProblem>();
        // A settings file may name its schema for editors; only the root may, as in the generated schema.
        CheckSection(root, root.GetChildren().Where(c => c.Key != JsonSchemaGenerator.SchemaKey), typeof(T), problems);
        if (problems.Count > 0)
        {
            throw new ConfigurationException(problems);
        }

        var options = new T();
        root.Bind(options, binder => binder.ErrorOnUnknownConfiguration = false);
        CollectValidation(options, "", problems);
        if (problems.Count > 0)
        {
            throw new ConfigurationException(problems);
        }
        return options;
    }

    /// <summary>Human-readable origin of a key: the file name, the environment variable, or `--set`.</summary>
    public static string? SourceOf(IConfigurationRoot root, string key)
    {
        var leaf = FirstLeaf(root.GetSection(key));
        foreach (var provider in root.Providers.Reverse())
        {
            if (!provider.TryGet(leaf, out _))
            {
                continue;
            }
            return provider switch
            {
                JsonConfigurationProvider json => IsUserSecrets(json) ? "user secrets" : DescribeFile(json),
                EnvironmentVariablesConfigurationProvider =>
                    $"environment variable {ConfigurationLoader.EnvironmentVariablePrefix}{leaf.Replace(":", "__")}",
                MemoryConfigurationProvider => "--set",
                _ => provider.ToString(),
            };
        }
        return null;
    }

    private static void CheckSection(IConfigurationRoot root, IEnumerable<IConfigurationSection> children, Type type,
        List<ConfigurationProblem> problems)
    {
        var properties = BindableProperties(type);
        foreach (var child in children)
        {
            if (!properties.TryGetValue(child.Key, out var property))
            {
                var suggestion = NameSuggestion.Closest(child.Key, properties.Keys);
                problems.Add(new(child.Path, SourceOf(root, child.Path),
                    "unknown setting" + (suggestion is null ? "" : $" (did you mean '{suggestion}'?)")));
                continue;
            }
            CheckValue(root, child, property.PropertyType, property.GetCustomAttribute<SecretAttribute>() is not null,
                problems);
        }
    }

    private static void CheckValue(IConfigurationRoot root, IConfigurationSection section, Type type, bool secret,
        List<ConfigurationProblem> problems)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        var children = section.GetChildren().ToList();

        if (IsScalar(underlying))
        {
            if (children.Count > 0)
            {
                problems.Add(new(section.Path, SourceOf(root, section.Path),
                    $"expected a single {FriendlyName(underlying)} value, found an object or list"));
                return;
            }
            if (secret && section.Value is { Length: > 0 } && IsFromFile(root, section.Path))
            {
                problems.Add(new(section.Path, SourceOf(root, section.Path),
                    "secrets must not be stored in settings files; set the environment variable " +
                    $"{ConfigurationLoader.EnvironmentVariablePrefix}{section.Path.Replace(":", "__")} or use `dotnet user-secrets`"));
                return;
            }
            if (section.Value is { Length: > 0 } text && !CanConvert(text, underlying))
            {
                // Never echo the value of a secret.
                var shown = secret ? "(hidden)" : $"'{text}'";
                problems.Add(new(section.Path, SourceOf(root, section.Path),
                    $"{shown} is not a valid {FriendlyName(underlying)}" + EnumHint(underlying)));
            }
            return;
        }

        if (section.Value is { Length: > 0 } && children.Count == 0)
        {
            problems.Add(new(section.Path, SourceOf(root, section.Path),
                $"expected an object or list ({FriendlyName(underlying)}), found a single value"));
            return;
        }

        if (DictionaryValueType(underlying) is { } valueType)
        {
            foreach (var child in children)
            {
                CheckValue(root, child, valueType, secret, problems);
            }
        }
        else if (ListElementType(underlying) is { } elementType)
        {
            foreach (var child in children)
            {
                if (!int.TryParse(child.Key, out _))
                {
                    problems.Add(new(child.Path, SourceOf(root, child.Path), "expected a list index"));
                    continue;
                }
                CheckValue(root, child, elementType, secret, problems);
            }
        }
        else
        {
            CheckSection(root, children, underlying, problems);
        }
    }

    private static void CollectValidation(object? options, string path, List<ConfigurationProblem> problems)
    {
        if (options is null || IsScalar(options.GetType()))
        {
            return;
        }
        if (options is IValidatableOptions validatable)
        {
            problems.AddRange(validatable.Validate(path));
        }
        if (options is IDictionary dictionary)
        {
            foreach (DictionaryEntry entry in dictionary)
            {
                CollectValidation(entry.Value, Join(path, entry.Key.ToString()!), problems);
            }
            return;
        }
        if (options is IEnumerable list and not string)
        {
            var index = 0;
            foreach (var item in list)
            {
                CollectValidation(item, Join(path, (index++).ToString(CultureInfo.InvariantCulture)), problems);
            }
            return;
        }
        foreach (var property in BindableProperties(options.GetType()).Values)
        {
            CollectValidation(property.GetValue(options), Join(path, property.Name), problems);
        }
    }

    private static string Join(string path, string key) => path.Length == 0 ? key : $"{path}:{key}";

    /// <summary>The keys of <paramref name="type"/> this binder accepts (any case): its settable properties and its collections.</summary>
    internal static Dictionary<string, PropertyInfo> BindableProperties(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0 && (p.CanWrite || !IsScalar(p.PropertyType)))
            .ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);

    private static bool IsScalar(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) ||
               type == typeof(TimeSpan) || type == typeof(Uri) || type == typeof(DateTimeOffset) || type == typeof(Guid);
    }

    private static bool CanConvert(string text, Type type)
    {
        if (type == typeof(string))
        {
            return true;
        }
        if (type.IsEnum)
        {
            return Enum.TryParse(type, text, ignoreCase: true, out _);
        }
        try
        {
            TypeDescriptor.GetConverter(type).ConvertFromInvariantString(text);
            return true;
        }
        catch (Exception e) when (e is FormatException or NotSupportedException or ArgumentException or OverflowException
                                      or UriFormatException || e.InnerException is FormatException or OverflowException)
        {
            return false;
        }
    }

    private static Type? DictionaryValueType(Type type) =>
        type.IsGenericType && type.GetGenericArguments().Length == 2 &&
        typeof(IEnumerable).IsAssignableFrom(type) && type.GetGenericArguments()[0] == typeof(string)
            ? type.GetGenericArguments()[1]
            : null;

    private static Type? ListElementType(Type type) =>
        type.IsArray ? type.GetElementType() :
        type.IsGenericType && type.GetGenericArguments().Length == 1 && typeof(IEnumerable).IsAssignableFrom(type)
            ? type.GetGenericArguments()[0]
            : null;

    private static string FriendlyName(Type type) => ConfigTypeNames.Friendly(type);

    private static string EnumHint(Type type) =>
        type.IsEnum ? $" (one of: {string.Join(", ", Enum.GetNames(type).Select(n => n.ToLowerInvariant()))})" : "";

    private static bool IsFromFile(IConfigurationRoot root, string key)
    {
        foreach (var provider in root.Providers.Reverse())
        {
            if (provider.TryGet(key, out _))
            {
                return provider is JsonConfigurationProvider json && !IsUserSecrets(json);
            }
        }
        return false;
    }

    private static bool IsUserSecrets(JsonConfigurationProvider json) =>
        json.Source.Path is { } path && path.EndsWith("secrets.json", StringComparison.OrdinalIgnoreCase) &&
        json.Source.FileProvider is Microsoft.Extensions.FileProviders.PhysicalFileProvider physical &&
        physical.Root.Contains("UserSecrets", StringComparison.OrdinalIgnoreCase);

    private static string DescribeFile(JsonConfigurationProvider json) =>
        json.Source.FileProvider is Microsoft.Extensions.FileProviders.PhysicalFileProvider physical && json.Source.Path is { } path
            ? Path.Combine(physical.Root, path)
            : json.Source.Path ?? "a settings file";

    private static string FirstLeaf(IConfigurationSection section)
    {
        var child = section.GetChildren().FirstOrDefault();
        return child is null ? section.Path : FirstLeaf(child);
    }
}
