using Distill.Core.Configuration;
using Distill.Generation.Routing;
using Distill.Server.Hosting;
using Distill.Teachers;

namespace Distill.Cli.Configuration;

/// <summary>The whole of appsettings.json: one section per stage. Bound strictly (unknown keys are errors).</summary>
public sealed class DistillOptions : IValidatableOptions
{
    public PathsOptions Paths { get; set; } = new();

    /// <summary>"auto" (cuda when available, else cpu), "cpu" or "cuda".</summary>
    public string Device { get; set; } = "auto";

    public ServeOptions Serve { get; set; } = new();

    /// <summary>Named teachers; each gets its own resilience pipeline. Keys come from the environment variable each names.</summary>
    public List<TeacherOptions> Teachers { get; set; } = [];

    /// <summary>Named routing tables for <c>distill generate --routing NAME</c>: which teacher generates each task, by a field of the task.</summary>
    public Dictionary<string, TeacherRoutingOptions> Routing { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Your own domains and tools, loaded from plugin assemblies (docs/own-domain.md).</summary>
    public PluginsOptions Plugins { get; set; } = new();

    public IEnumerable<ConfigurationProblem> Validate(string path)
    {
        if (Device is not ("auto" or "cpu" or "cuda"))
        {
            yield return new(nameof(Device), null, $"'{Device}' is not a device (one of: auto, cpu, cuda)");
        }
        if (Teachers.Count > 0)
        {
            foreach (var problem in TeacherRegistry.Validate(Teachers))
            {
                yield return new(nameof(Teachers), null, problem);
            }
        }
        var teacherNames = Teachers.Select(t => t.Name).ToList();
        foreach (var (name, table) in Routing)
        {
            foreach (var problem in table.Validate(teacherNames))
            {
                yield return new($"{nameof(Routing)}:{name}", null, problem);
            }
        }
    }
}
