using Distill.Generation.Domains;
using Distill.World;

namespace Distill.Cli.Composition;

/// <summary>
/// The domains this build of the CLI plugs into the pipeline. The embedded world is the only one shipped; a user's own domain is
/// an <see cref="ITaskDomain"/> added here. Task files (.jsonl, .parquet) use the tools and variables of the default domain.
/// </summary>
public static class TaskDomains
{
    private static readonly Lazy<IReadOnlyList<ITaskDomain>> Domains = new(() => [new WorldDomain()]);

    public static IReadOnlyList<ITaskDomain> All => Domains.Value;

    /// <summary>The domain a task source names (<c>world:heldout</c>), else the default one.</summary>
    public static ITaskDomain For(string taskSpec) =>
        All.FirstOrDefault(d => taskSpec.StartsWith(d.Name + ":", StringComparison.Ordinal)) ?? All[0];

    /// <summary>The domain's template variables overlaid by the user's <c>--vars</c>.</summary>
    public static IReadOnlyDictionary<string, object?> Variables(ITaskDomain domain, IReadOnlyDictionary<string, object?> userVariables)
    {
        var merged = new Dictionary<string, object?>(domain.TemplateVariables, StringComparer.Ordinal);
        foreach (var (key, value) in userVariables) merged[key] = value;
        return merged;
    }
}
