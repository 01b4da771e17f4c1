using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Distill.Core.Samples;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Distill.Generation.Templates;

/// <summary>The parsed front matter; fields are null where missing or invalid (a problem says which).</summary>
internal sealed record FrontMatter(
    string? Id,
    int IdLine,
    string? Description,
    string? Recipe,
    IReadOnlyList<TemplateVariable> Variables,
    GenerationParams Parameters,
    OutputContract? Output,
    IReadOnlyList<(string Name, int Line)> Privileged);

/// <summary>
/// Reads the YAML front matter with YamlDotNet's representation model, so every problem carries the file line
/// (YamlDotNet marks are 1-based within the YAML text; <c>firstLine</c> is the file line of the YAML's first line).
/// </summary>
internal sealed partial class FrontMatterReader
{
    private static readonly string[] KnownKeys = ["id", "description", "recipe", "variables", "parameters", "output", "privileged"];
    private static readonly string[] VariableKeys = ["type", "required", "default", "description"];
    private static readonly string[] ParameterKeys = ["temperature", "top_p", "max_tokens", "seed"];
    private static readonly string[] OutputKeys = ["format", "fields", "schema", "answer_tag"];

    private readonly string _file;
    private readonly int _firstLine;
    private readonly List<TemplateProblem> _problems;

    private FrontMatterReader(string file, int firstLine, List<TemplateProblem> problems)
    {
        _file = file;
        _firstLine = firstLine;
        _problems = problems;
    }

    [GeneratedRegex("^[a-z0-9]+(?:[-_.][a-z0-9]+)*$")]
    private static partial Regex IdPattern();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    internal static partial Regex VariableNamePattern();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_.-]*$")]
    private static partial Regex TagPattern();

    /// <param name="markerLine">The file line of the opening <c>---</c>, where missing fields are reported.</param>
    public static FrontMatter? Read(string file, string yaml, int firstLine, int markerLine, List<TemplateProblem> problems) =>
        new FrontMatterReader(file, firstLine, problems).Read(yaml, markerLine);

    private FrontMatter? Read(string yaml, int markerLine)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            Add(e.Start.Line, $"front matter is not valid YAML: {e.Message}");
            return null;
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            var line = stream.Documents.Count == 0 ? 0 : stream.Documents[0].RootNode.Start.Line;
            AddAt(line == 0 ? markerLine : FileLine(line),
                "front matter must be a YAML mapping with id, description, recipe, variables, parameters and output");
            return null;
        }

        string? id = null, description = null, recipe = null;
        int idLine = markerLine;
        IReadOnlyList<TemplateVariable> variables = [];
        var parameters = new GenerationParams(null, null, null, null);
        OutputContract? output = null;
        List<(string, int)> privileged = [];
        var seen = new HashSet<string>();

        foreach (var (keyNode, value) in root.Children)
        {
            var key = (keyNode as YamlScalarNode)?.Value ?? "";
            seen.Add(key);
            switch (key)
            {
                case "id":
                    id = RequiredText(value, "id");
                    idLine = FileLine(value.Start.Line);
                    if (id is not null && !IdPattern().IsMatch(id))
                    {
                        Add(value, $"id '{id}' must be lower-case letters and digits separated by '-', '_' or '.'");
                    }

                    break;
                case "description":
                    description = RequiredText(value, "description");
                    break;
                case "recipe":
                    recipe = RequiredText(value, "recipe");
                    if (recipe is not null && !TemplateRecipes.IsKnown(recipe))
                    {
                        Add(value, $"unknown recipe '{recipe}'; expected one of: {string.Join(", ", TemplateRecipes.All)}");
                    }

                    break;
                case "variables":
                    variables = ReadVariables(value);
                    break;
                case "parameters":
                    parameters = ReadParameters(value);
                    break;
                case "output":
                    output = ReadOutput(value);
                    break;
                case "privileged":
                    privileged = ReadPrivileged(value);
                    break;
                default:
                    Add(keyNode, $"unknown front-matter field '{key}'; expected one of: {string.Join(", ", KnownKeys)}");
                    break;
            }
        }

        foreach (var (field, what) in new[]
                 {
                     ("id", "the template id, equal to the file name"),
                     ("description", "one line saying what the template is for"),
                     ("recipe", string.Join(" | ", TemplateRecipes.All)),
                     ("output", "the output contract, e.g. output: {format: text}"),
                 })
        {
            if (!seen.Contains(field))
            {
                AddAt(markerLine, $"front matter is missing required field '{field}' ({what})");
            }
        }

        return new FrontMatter(id, idLine, description, recipe, variables, parameters, output, privileged);
    }

    private List<TemplateVariable> ReadVariables(YamlNode node)
    {
        var result = new List<TemplateVariable>();
        if (node is YamlScalarNode { Value: null or "" or "~" })
        {
            return result;
        }

        if (node is not YamlMappingNode map)
        {
            Add(node, "'variables' must be a mapping: name -> {type, required, default, description}");
            return result;
        }

        foreach (var (nameNode, spec) in map.Children)
        {
            var name = (nameNode as YamlScalarNode)?.Value ?? "";
            var line = FileLine(nameNode.Start.Line);
            if (!VariableNamePattern().IsMatch(name))
            {
                Add(nameNode, $"variable name '{name}' must be letters, digits and '_' (not starting with a digit)");
                continue;
            }

            if (spec is not YamlMappingNode fields)
            {
                Add(spec, $"variable '{name}' must be a mapping: {{type, required, default, description}}");
                continue;
            }

            VariableType? type = null;
            var required = false;
            YamlNode? defaultNode = null;
            string? description = null;
            foreach (var (fieldNode, fieldValue) in fields.Children)
            {
                var field = (fieldNode as YamlScalarNode)?.Value ?? "";
                switch (field)
                {
                    case "type":
                        var typeText = (fieldValue as YamlScalarNode)?.Value ?? "";
                        if (VariableValues.TryParseType(typeText, out var t))
                        {
                            type = t;
                        }
                        else
                        {
                            Add(fieldValue, $"variable '{name}' has unknown type '{typeText}'; expected string, int, number, bool, list or json");
                        }

                        break;
                    case "required":
                        required = ReadBool(fieldValue, $"variable '{name}' required") ?? false;
                        break;
                    case "default":
                        defaultNode = fieldValue;
                        break;
                    case "description":
                        description = (fieldValue as YamlScalarNode)?.Value;
                        break;
                    default:
                        Add(fieldNode, $"variable '{name}' has unknown field '{field}'; expected one of: {string.Join(", ", VariableKeys)}");
                        break;
                }
            }

            if (!fields.Children.ContainsKey(new YamlScalarNode("type")))
            {
                Add(nameNode, $"variable '{name}' has no type; add type: string | int | number | bool | list | json");
            }

            string? defaultText = null;
            if (defaultNode is not null && !IsNull(defaultNode))
            {
                if (required)
                {
                    Add(defaultNode, $"variable '{name}' is required and has a default; drop one of them");
                }

                if (type is { } declared)
                {
                    if (VariableValues.TryFormat(declared, FromYaml(defaultNode, declared), out var text, out var error))
                    {
                        defaultText = text;
                    }
                    else
                    {
                        Add(defaultNode, $"default of variable '{name}' {error}");
                    }
                }
            }

            // Kept even when its type is broken, so the body's uses of it are not reported as undeclared too.
            result.Add(new TemplateVariable(name, type ?? VariableType.String, required, defaultText, description, line));
        }

        return result;
    }

    private GenerationParams ReadParameters(YamlNode node)
    {
        var p = new GenerationParams(null, null, null, null);
        if (node is not YamlMappingNode map)
        {
            Add(node, "'parameters' must be a mapping: {temperature, top_p, max_tokens, seed}");
            return p;
        }

        foreach (var (keyNode, value) in map.Children)
        {
            var key = (keyNode as YamlScalarNode)?.Value ?? "";
            switch (key)
            {
                case "temperature":
                    p = p with { Temperature = ReadNumber(value, "temperature", 0, 2) };
                    break;
                case "top_p":
                    p = p with { TopP = ReadNumber(value, "top_p", 0, 1) };
                    break;
                case "max_tokens":
                    var max = ReadInteger(value, "max_tokens");
                    if (max is <= 0 or > int.MaxValue)
                    {
                        Add(value, "parameter 'max_tokens' must be a positive integer");
                        max = null;
                    }

                    p = p with { MaxTokens = (int?)max };
                    break;
                case "seed":
                    p = p with { Seed = ReadInteger(value, "seed") };
                    break;
                default:
                    Add(keyNode, $"unknown parameter '{key}'; expected one of: {string.Join(", ", ParameterKeys)}");
                    break;
            }
        }

        return p;
    }

    private OutputContract? ReadOutput(YamlNode node)
    {
        if (node is not YamlMappingNode map)
        {
            Add(node, "'output' must be a mapping: {format: json | text | tagged, fields, schema, answer_tag}");
            return null;
        }

        OutputFormat? format = null;
        List<string> fields = [];
        string? schema = null, answerTag = null;
        YamlNode? fieldsNode = null, schemaNode = null, tagNode = null;
        foreach (var (keyNode, value) in map.Children)
        {
            var key = (keyNode as YamlScalarNode)?.Value ?? "";
            switch (key)
            {
                case "format":
                    var text = (value as YamlScalarNode)?.Value;
                    format = text switch
                    {
                        "json" => OutputFormat.Json,
                        "text" => OutputFormat.Text,
                        "tagged" => OutputFormat.Tagged,
                        _ => null,
                    };
                    if (format is null)
                    {
                        Add(value, $"unknown output format '{text}'; expected json, text or tagged");
                    }

                    break;
                case "fields":
                    fieldsNode = value;
                    if (value is YamlSequenceNode seq && seq.Children.All(c => c is YamlScalarNode { Value.Length: > 0 }))
                    {
                        fields = seq.Children.Select(c => ((YamlScalarNode)c).Value!).ToList();
                    }
                    else
                    {
                        Add(value, "output 'fields' must be a list of field names");
                    }

                    break;
                case "schema":
                    schemaNode = value;
                    if (value is YamlMappingNode)
                    {
                        schema = ToJson(value)!.ToJsonString(VariableValues.Json);
                    }
                    else
                    {
                        Add(value, "output 'schema' must be a JSON schema written as a YAML mapping");
                    }

                    break;
                case "answer_tag":
                    tagNode = value;
                    answerTag = (value as YamlScalarNode)?.Value;
                    if (answerTag is null || !TagPattern().IsMatch(answerTag))
                    {
                        Add(value, "output 'answer_tag' must be a tag name such as answer");
                        answerTag = null;
                    }

                    break;
                default:
                    Add(keyNode, $"unknown output field '{key}'; expected one of: {string.Join(", ", OutputKeys)}");
                    break;
            }
        }

        if (!map.Children.ContainsKey(new YamlScalarNode("format")))
        {
            Add(node, "output contract has no format; add format: json | text | tagged");
        }

        if (format == OutputFormat.Tagged && tagNode is null)
        {
            Add(node, "output format 'tagged' needs answer_tag (e.g. answer_tag: answer)");
        }

        if (format is { } f && f != OutputFormat.Tagged && tagNode is not null)
        {
            Add(tagNode, "output 'answer_tag' only applies to format 'tagged'");
        }

        if (format is { } g && g != OutputFormat.Json)
        {
            foreach (var n in new[] { fieldsNode, schemaNode }.OfType<YamlNode>())
            {
                Add(n, "output 'fields' and 'schema' only apply to format 'json'");
            }
        }

        return format is { } ok ? new OutputContract(ok, fields, schema, answerTag) : null;
    }

    private List<(string, int)> ReadPrivileged(YamlNode node)
    {
        if (node is YamlSequenceNode seq)
        {
            var result = new List<(string, int)>();
            foreach (var item in seq.Children)
            {
                if (item is YamlScalarNode { Value.Length: > 0 } s)
                {
                    result.Add((s.Value!, FileLine(s.Start.Line)));
                }
                else
                {
                    Add(item, "each 'privileged' entry must be a variable name");
                }
            }

            return result;
        }

        Add(node, "'privileged' must be a list of variable names, e.g. privileged: [policy]");
        return [];
    }

    private string? RequiredText(YamlNode node, string field)
    {
        if (node is YamlScalarNode { Value: { } v } && !string.IsNullOrWhiteSpace(v))
        {
            return v.Trim();
        }

        Add(node, $"'{field}' must be a non-empty text value");
        return null;
    }

    private bool? ReadBool(YamlNode node, string what)
    {
        if (node is YamlScalarNode { Value: { } v } && bool.TryParse(v, out var b))
        {
            return b;
        }

        Add(node, $"{what} must be true or false");
        return null;
    }

    private double? ReadNumber(YamlNode node, string name, double min, double max)
    {
        if (node is YamlScalarNode { Value: { } v } &&
            double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d >= min && d <= max)
        {
            return d;
        }

        Add(node, $"parameter '{name}' must be a number from {min} to {max}");
        return null;
    }

    private long? ReadInteger(YamlNode node, string name)
    {
        if (node is YamlScalarNode { Value: { } v } &&
            long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
        {
            return l;
        }

        Add(node, $"parameter '{name}' must be an integer");
        return null;
    }

    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "~" or "null" };

    /// <summary>The value <see cref="VariableValues.TryFormat"/> receives for a YAML default.</summary>
    private static object FromYaml(YamlNode node, VariableType type) => node switch
    {
        YamlScalarNode s when type == VariableType.Json && s.Style == ScalarStyle.Plain =>
            ToJson(s)?.ToJsonString(VariableValues.Json) ?? "null",
        YamlScalarNode s when type == VariableType.Json => s.Value ?? "",
        YamlScalarNode s => s.Value ?? "",
        YamlSequenceNode seq when type == VariableType.List =>
            seq.Children.Select(c => c is YamlScalarNode sc ? (object)(sc.Value ?? "") : ToJson(c)!).ToList(),
        _ => ToJson(node)!,
    };

    /// <summary>YAML to JSON: plain scalars that look like numbers, booleans or null become those; the rest strings.</summary>
    internal static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode m => new JsonObject(m.Children.Select(kv =>
            KeyValuePair.Create((kv.Key as YamlScalarNode)?.Value ?? kv.Key.ToString(), ToJson(kv.Value)))),
        YamlSequenceNode s => new JsonArray(s.Children.Select(ToJson).ToArray()),
        YamlScalarNode { Style: ScalarStyle.Plain, Value: var v } => v switch
        {
            null or "" or "~" or "null" => null,
            "true" => JsonValue.Create(true),
            "false" => JsonValue.Create(false),
            _ when long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) => JsonValue.Create(l),
            _ when double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => JsonValue.Create(d),
            _ => JsonValue.Create(v),
        },
        YamlScalarNode s => JsonValue.Create(s.Value ?? ""),
        _ => null,
    };

    private int FileLine(long yamlLine) => _firstLine + (int)Math.Max(yamlLine, 1) - 1;

    private void Add(YamlNode node, string message) => Add(node.Start.Line, message);

    private void Add(long yamlLine, string message) => AddAt(FileLine(yamlLine), message);

    private void AddAt(int fileLine, string message) => _problems.Add(new TemplateProblem(_file, fileLine, message));
}
