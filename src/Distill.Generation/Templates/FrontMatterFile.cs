using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Distill.Generation.Templates;

/// <summary>
/// The front matter as typed data, deserialized once <see cref="FrontMatterSchema"/> has checked it (values the schema
/// rejected are left out first, so this never fails on a value the author already has a problem for).
/// </summary>
internal sealed record FrontMatterFile(
    string? Id,
    string? Description,
    string? Recipe,
    Dictionary<string, VariableSpec>? Variables,
    ParameterSpec? Parameters,
    OutputSpec? Output,
    List<string?>? Privileged)
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) },
    };
}

/// <summary>A declared variable; its default is read from its YAML node instead (see <see cref="FrontMatterReader"/>).</summary>
internal sealed record VariableSpec(VariableType? Type, bool? Required, string? Description);

internal sealed record ParameterSpec(double? Temperature, double? TopP, int? MaxTokens, long? Seed);

internal sealed record OutputSpec(OutputFormat? Format, List<string>? Fields, JsonObject? Schema, string? AnswerTag);
