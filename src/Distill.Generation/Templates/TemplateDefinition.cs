using Distill.Core.Samples;
using Microsoft.SemanticKernel;

namespace Distill.Generation.Templates;

/// <summary>
/// One prompt template from <c>prompts/&lt;id&gt;.prompt</c>: YAML front matter plus a Semantic Kernel body with
/// <c>## system</c> / <c>## user</c> sections (see prompts/README.md for the format).
/// </summary>
public sealed record TemplateDefinition
{
    public required string Id { get; init; }
    public required string Description { get; init; }

    /// <summary>One of <see cref="TemplateRecipes.All"/>.</summary>
    public required string Recipe { get; init; }

    /// <summary>The file it was loaded from, as found under the library folder.</summary>
    public required string FilePath { get; init; }

    /// <summary>Content hash of the normalized file (<see cref="TemplateVersion"/>); stored on every dataset row.</summary>
    public required string Version { get; init; }

    /// <summary>Declared variables, in file order.</summary>
    public required IReadOnlyList<TemplateVariable> Variables { get; init; }

    /// <summary>Default sampling parameters; null where the template leaves the choice to the run configuration.</summary>
    public required GenerationParams Parameters { get; init; }

    public required OutputContract Output { get; init; }

    /// <summary>Variables the teacher sees but the stored, student-facing messages leave out.</summary>
    public required IReadOnlyList<string> Privileged { get; init; }

    /// <summary>The body sections in file order.</summary>
    public required IReadOnlyList<TemplateSection> Sections { get; init; }

    /// <summary>The file line of the <c>id:</c> field.</summary>
    internal int IdLine { get; init; }

    public TemplateVariable? FindVariable(string name) => Variables.FirstOrDefault(v => v.Name == name);

    public bool IsPrivileged(string name) => Privileged.Contains(name);

    internal TemplateSection? Section(string name) => Sections.FirstOrDefault(s => s.Name == name);
}

/// <summary>A declared template variable.</summary>
/// <param name="DefaultText">The default, already formatted as it renders (see <see cref="VariableValues"/>), or null.</param>
/// <param name="Line">The file line of its declaration.</param>
public sealed record TemplateVariable(
    string Name, VariableType Type, bool Required, string? DefaultText, string? Description, int Line);

/// <summary>Declared variable types. Values are checked against them when a template renders.</summary>
public enum VariableType
{
    String,
    Int,
    Number,
    Bool,
    List,
    Json,
}

public enum OutputFormat
{
    /// <summary>Free text: the whole reply is the answer.</summary>
    Text,

    /// <summary>A JSON object; <see cref="OutputContract.Fields"/> and/or <see cref="OutputContract.SchemaJson"/> describe it.</summary>
    Json,

    /// <summary>Free text with the final answer inside <c>&lt;answer_tag&gt;...&lt;/answer_tag&gt;</c>.</summary>
    Tagged,
}

/// <summary>What the teacher's reply must look like; the recipe's parser and verifier read it.</summary>
/// <param name="Fields">For <see cref="OutputFormat.Json"/>: the fields the object must have.</param>
/// <param name="SchemaJson">For <see cref="OutputFormat.Json"/>: an optional JSON schema, as JSON text.</param>
/// <param name="AnswerTag">For <see cref="OutputFormat.Tagged"/>: the tag name holding the final answer, e.g. "answer".</param>
public sealed record OutputContract(OutputFormat Format, IReadOnlyList<string> Fields, string? SchemaJson, string? AnswerTag);

/// <summary>One body section: <c>system</c>, <c>user</c>, <c>student system</c> or <c>student user</c>.</summary>
/// <param name="Text">The Semantic Kernel template text, trimmed.</param>
/// <param name="Line">The file line of the section marker.</param>
public sealed record TemplateSection(string Name, string Text, int Line)
{
    internal IPromptTemplate? Compiled { get; init; }

    /// <summary>The file line where <see cref="Text"/> starts.</summary>
    internal int TextLine { get; init; }
}

/// <summary>The body's section names.</summary>
public static class TemplateSections
{
    public const string System = "system";
    public const string User = "user";
    public const string StudentSystem = "student system";
    public const string StudentUser = "student user";

    public static readonly IReadOnlyList<string> All = [System, User, StudentSystem, StudentUser];

    public static bool IsStudent(string name) => name.StartsWith("student ", StringComparison.Ordinal);

    /// <summary>The teacher section a student section stands in for ("student user" -> "user").</summary>
    public static string TeacherCounterpart(string studentSection) => studentSection["student ".Length..];
}

/// <summary>The recipes a template can serve.</summary>
public static class TemplateRecipes
{
    public const string Instruction = "instruction";
    public const string ChainOfThought = "cot";
    public const string ToolTrace = "tool_trace";
    public const string Dialogue = "dialogue";
    public const string Judge = "judge";
    public const string UserSimulator = "user_simulator";

    public static readonly IReadOnlyList<string> All = [Instruction, ChainOfThought, ToolTrace, Dialogue, Judge, UserSimulator];

    public static bool IsKnown(string recipe) => All.Contains(recipe);
}
