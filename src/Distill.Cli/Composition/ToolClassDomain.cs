using Distill.Generation.Domains;
using Distill.Generation.Recipes;
using Distill.Teachers;
using Microsoft.SemanticKernel;

namespace Distill.Cli.Composition;

/// <summary>
/// A plugin's tool class as the domain of task files (Plugins:TaskFileTools): its <c>[KernelFunction]</c> methods are the
/// tools. The tasks come from the file, so it has no splits, no template variables (pass <c>--vars</c>) and no scripted
/// teacher; it is never a task source of its own.
/// </summary>
internal sealed class ToolClassDomain(PluginToolClass toolClass) : ITaskDomain
{
    public string Name => toolClass.Name;

    public IReadOnlyList<string> Splits => [];

    public IReadOnlyList<SeedTask> Tasks(string split, int count, string? filter = null) => [];

    public IReadOnlyDictionary<string, object?> TemplateVariables { get; } = new Dictionary<string, object?>(StringComparer.Ordinal);

    public IReadOnlyList<KernelFunction> Tools => toolClass.Tools;

    public string? ScriptedTeacherName => null;

    public ITeacher CreateScriptedTeacher(IReadOnlyList<SeedTask> tasks) =>
        throw new InvalidOperationException($"tool class '{toolClass.TypeName}' has no scripted teacher");
}
