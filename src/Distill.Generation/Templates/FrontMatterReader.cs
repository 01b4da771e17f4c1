using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Distill.Core.Samples;
using Distill.Generation.Schemas;
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
/// Reads the YAML front matter in three steps: YamlDotNet parses it (syntax errors and duplicate keys, with their marks),
/// <see cref="FrontMatterSchema"/> checks its shape against front-matter.schema.json, and the checked values deserialize
/// into <see cref="FrontMatterFile"/>. Each YAML value keeps its node, so every problem carries its file line
/// (<c>firstLine</c> is the file line of the YAML's first line). What the schema cannot say (a variable's default must fit
/// its declared type) is checked here.
/// </summary>
internal sealed partial class FrontMatterReader
{
    private readonly string _file;
    private readonly int _firstLine;
    private readonly int _markerLine;
    private readonly List<TemplateProblem> _problems;
    private readonly Dictionary<string, YamlEntry> _entries = [];

    private FrontMatterReader(string file, int firstLine, int markerLine, List<TemplateProblem> problems)
    {
        _file = file;
        _firstLine = firstLine;
        _markerLine = markerLine;
        _problems = problems;
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    internal static partial Regex VariableNamePattern();

    /// <param name="markerLine">The file line of the opening <c>---</c>, where missing fields are reported.</param>
    public static FrontMatter? Read(string file, string yaml, int firstLine, int markerLine, List<TemplateProblem> problems) =>
        new FrontMatterReader(file, firstLine, markerLine, problems).Read(yaml);

    private FrontMatter? Read(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            AddAt(FileLine(e.Start.Line), $"front matter is not valid YAML: {e.Message}");
            return null;
        }

        var json = stream.Documents.Count == 0 ? null : YamlJson.ToJson(stream.Documents[0].RootNode, _entries);
        foreach (var failure in FrontMatterSchema.Check(json))
        {
            AddAt(LineOf(failure.Pointer), failure.Message);
            if (!failure.Required)
            {
                // Leave the rejected value out, so the typed read below fails on nothing already reported.
                json = Remove(json, failure.Pointer);
            }
        }

        FrontMatterFile? front;
        try
        {
            front = json?.Deserialize<FrontMatterFile>(FrontMatterFile.Options);
        }
        catch (JsonException e)
        {
            AddAt(_markerLine, $"front matter could not be read: {e.Message}");
            return null;
        }

        return front is null ? null : new FrontMatter(
            front.Id?.Trim(),
            _entries.TryGetValue("/id", out var id) ? FileLine(id.Value.Start.Line) : _markerLine,
            front.Description?.Trim(),
            front.Recipe,
            Variables(front.Variables ?? []),
            new GenerationParams(front.Parameters?.Temperature, front.Parameters?.TopP, front.Parameters?.Seed, front.Parameters?.MaxTokens),
            front.Output is { Format: { } format } output
                ? new OutputContract(format, output.Fields ?? [], output.Schema?.ToJsonString(VariableValues.Json), output.AnswerTag)
                : null,
            (front.Privileged ?? []).Select((name, i) => (name, LineOf($"/privileged/{i}")))
                .Where(p => p.name is not null).Select(p => (p.name!, p.Item2)).ToList());
    }

    private List<TemplateVariable> Variables(Dictionary<string, VariableSpec> specs)
    {
        var result = new List<TemplateVariable>();
        foreach (var (name, spec) in specs)
        {
            var pointer = $"/variables/{YamlJson.Escape(name)}";
            string? defaultText = null;
            if (_entries.TryGetValue($"{pointer}/default", out var entry) && !YamlJson.IsNull(entry.Value))
            {
                if (spec.Required == true)
                {
                    AddAt(FileLine(entry.Value.Start.Line), $"variable '{name}' is required and has a default; drop one of them");
                }

                if (spec.Type is { } declared)
                {
                    if (VariableValues.TryFormat(declared, FromYaml(entry.Value, declared), out var text, out var error))
                    {
                        defaultText = text;
                    }
                    else
                    {
                        AddAt(FileLine(entry.Value.Start.Line), $"default of variable '{name}' {error}");
                    }
                }
            }

            // Kept even when its type is broken, so the body's uses of it are not reported as undeclared too.
            result.Add(new TemplateVariable(name, spec.Type ?? VariableType.String, spec.Required ?? false, defaultText, spec.Description, LineOf(pointer)));
        }

        return result;
    }

    /// <summary>The value <see cref="VariableValues.TryFormat"/> receives for a YAML default: scalars as written.</summary>
    private static object FromYaml(YamlNode node, VariableType type) => node switch
    {
        YamlScalarNode s when type == VariableType.Json && s.Style == ScalarStyle.Plain =>
            YamlJson.ToJson(s)?.ToJsonString(VariableValues.Json) ?? "null",
        YamlScalarNode s => s.Value ?? "",
        YamlSequenceNode seq when type == VariableType.List =>
            seq.Children.Select(c => c is YamlScalarNode sc ? (object)(sc.Value ?? "") : YamlJson.ToJson(c)!).ToList(),
        _ => YamlJson.ToJson(node)!,
    };

    /// <summary><paramref name="json"/> without the value at <paramref name="pointer"/> (array items become null, keeping indexes).</summary>
    private static JsonNode? Remove(JsonNode? json, string pointer)
    {
        var segments = SchemaFailures.Segments(pointer);
        if (segments.Count == 0)
        {
            return null;
        }

        switch (FrontMatterSchema.Resolve(json, "/" + string.Join('/', segments.SkipLast(1).Select(YamlJson.Escape))))
        {
            case JsonObject parent:
                parent.Remove(segments[^1]);
                break;
            case JsonArray array when int.TryParse(segments[^1], out var i) && i < array.Count:
                array[i] = null;
                break;
        }

        return json;
    }

    /// <summary>The file line for a JSON pointer: its key's line in a mapping, else its value's; the marker line for the root.</summary>
    private int LineOf(string pointer) =>
        pointer.Length > 0 && _entries.TryGetValue(pointer, out var entry) ? FileLine(entry.Line) : _markerLine;

    private int FileLine(long yamlLine) => _firstLine + (int)Math.Max(yamlLine, 1) - 1;

    private void AddAt(int fileLine, string message) => _problems.Add(new TemplateProblem(_file, fileLine, message));
}
