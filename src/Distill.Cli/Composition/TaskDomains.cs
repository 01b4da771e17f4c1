using Distill.Cli.Configuration;
using Distill.Core.Errors;
using Distill.Generation.Domains;
using Distill.World;

namespace Distill.Cli.Composition;

/// <summary>
/// The domains this run of the CLI plugs into the pipeline: the embedded world first, then the domains of the plugin
/// assemblies in the settings (Plugins:Assemblies, docs/own-domain.md). Task files (.jsonl, .parquet) use the tools and
/// variables of <see cref="TaskFiles"/>: the domain or plugin tool class Plugins:TaskFileTools names, else the world.
/// </summary>
public sealed class TaskDomains
{
    /// <summary>One world per process: it is deterministic, and building its store takes a moment.</summary>
    private static readonly Lazy<ITaskDomain> World = new(() => new WorldDomain());

    private TaskDomains(IReadOnlyList<ITaskDomain> all, ITaskDomain taskFiles)
    {
        All = all;
        TaskFiles = taskFiles;
    }

    /// <summary>The task sources (<c>--tasks NAME:SPLIT</c>), the embedded world first.</summary>
    public IReadOnlyList<ITaskDomain> All { get; }

    /// <summary>Whose tools and template variables task files use.</summary>
    public ITaskDomain TaskFiles { get; }

    /// <summary>The embedded world alone (no plugins).</summary>
    public static TaskDomains BuiltIn { get; } = Compose([], null);

    /// <summary>The world plus every plugin assembly of <paramref name="plugins"/>, loaded now.</summary>
    public static TaskDomains Load(PluginsOptions plugins) =>
        plugins.Assemblies.Count == 0 && plugins.TaskFileTools is null
            ? BuiltIn
            : Compose(plugins.Assemblies.Select(PluginAssemblies.Load).ToList(), plugins.TaskFileTools);

    /// <summary>
    /// The world plus <paramref name="plugins"/>' domains, and the task files' domain: <paramref name="taskFileTools"/>'s
    /// domain or tool class, else the world. A name taken twice (two domains, two tool classes, or one of each) is refused,
    /// since it is what <c>--tasks</c> and Plugins:TaskFileTools select by.
    /// </summary>
    public static TaskDomains Compose(IReadOnlyList<PluginContents> plugins, string? taskFileTools)
    {
        var owners = new Dictionary<string, string>(StringComparer.Ordinal) { [World.Value.Name] = "the built-in world" };
        void Claim(string name, string owner)
        {
            if (owners.TryGetValue(name, out var first))
                throw new DistillException($"two domains or tool classes are named '{name}': {first} and {owner}",
                    "rename one (a domain's Name is the prefix of --tasks NAME:SPLIT; a tool class's name is what Plugins:TaskFileTools names)");
            owners[name] = owner;
        }
        var domains = new List<ITaskDomain> { World.Value };
        var toolClasses = new List<ITaskDomain>();
        foreach (var plugin in plugins)
        {
            foreach (var domain in plugin.Domains)
            {
                Claim(domain.Name, $"domain {domain.GetType().FullName} in {plugin.Source}");
                domains.Add(domain);
            }
            foreach (var toolClass in plugin.ToolClasses)
            {
                Claim(toolClass.Name, $"tool class {toolClass.TypeName} in {plugin.Source}");
                toolClasses.Add(new ToolClassDomain(toolClass));
            }
        }
        var taskFiles = taskFileTools is null ? domains[0]
            : domains.Concat(toolClasses).FirstOrDefault(d => d.Name == taskFileTools)
                ?? throw new DistillException($"Plugins:TaskFileTools names '{taskFileTools}', which is neither a domain nor a tool class of the plugins",
                    $"use one of: {string.Join(", ", owners.Keys.Order(StringComparer.Ordinal))}");
        return new TaskDomains(domains, taskFiles);
    }

    /// <summary>The domain a task source names (<c>world:heldout</c>), else (a task file) <see cref="TaskFiles"/>.</summary>
    public ITaskDomain For(string taskSpec) =>
        All.FirstOrDefault(d => taskSpec.StartsWith(d.Name + ":", StringComparison.Ordinal)) ?? TaskFiles;

    /// <summary>The domain's template variables overlaid by the user's <c>--vars</c>.</summary>
    public static IReadOnlyDictionary<string, object?> Variables(ITaskDomain domain, IReadOnlyDictionary<string, object?> userVariables)
    {
        var merged = new Dictionary<string, object?>(domain.TemplateVariables, StringComparer.Ordinal);
        foreach (var (key, value) in userVariables) merged[key] = value;
        return merged;
    }
}
