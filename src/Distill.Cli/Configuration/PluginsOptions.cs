using Distill.Core.Configuration;

namespace Distill.Cli.Configuration;

/// <summary>
/// Your own domains and tools, from .NET assemblies you build (docs/own-domain.md): every public <c>ITaskDomain</c> class
/// becomes a task source beside the embedded world (<c>--tasks NAME:SPLIT</c>), and every public class with
/// <c>[KernelFunction]</c> methods a tool set that task files can use (<see cref="TaskFileTools"/>).
/// </summary>
public sealed class PluginsOptions : IValidatableOptions
{
    /// <summary>Plugin assemblies: the .dll of each plugin's build output (its dependencies are resolved from the same folder; Distill's own assemblies and Semantic Kernel come from Distill). Relative paths are relative to the current folder.</summary>
    public List<string> Assemblies { get; set; } = [];

    /// <summary>The tools (and template variables) of task files (.jsonl, .parquet): a domain's name (e.g. "world") or a tool class's name from a plugin assembly. Default: the embedded world.</summary>
    public string? TaskFileTools { get; set; }

    public IEnumerable<ConfigurationProblem> Validate(string path)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Assemblies.Count; i++)
        {
            var assembly = Assemblies[i];
            if (string.IsNullOrWhiteSpace(assembly))
            {
                yield return new($"{path}:{nameof(Assemblies)}:{i}", null, "must not be empty");
            }
            else if (assembly.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
            {
                yield return new($"{path}:{nameof(Assemblies)}:{i}", null, $"'{assembly}' is not a valid path");
            }
            else if (!seen.Add(Path.GetFullPath(assembly)))
            {
                yield return new($"{path}:{nameof(Assemblies)}:{i}", null, $"'{assembly}' is listed twice");
            }
        }
        if (TaskFileTools is not null && string.IsNullOrWhiteSpace(TaskFileTools))
        {
            yield return new($"{path}:{nameof(TaskFileTools)}", null, "must not be empty (leave it out for the embedded world's tools)");
        }
    }
}
