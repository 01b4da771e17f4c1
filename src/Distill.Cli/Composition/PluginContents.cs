using Distill.Generation.Domains;
using Microsoft.SemanticKernel;

namespace Distill.Cli.Composition;

/// <summary>What one plugin assembly brings: its domains, and its tool classes (each class's name with its functions).</summary>
/// <param name="Source">The assembly's path as the settings give it, for messages.</param>
public sealed record PluginContents(string Source, IReadOnlyList<ITaskDomain> Domains, IReadOnlyList<PluginToolClass> ToolClasses);

/// <summary>A plugin class with <c>[KernelFunction]</c> methods: the tools of task files that name it (Plugins:TaskFileTools).</summary>
public sealed record PluginToolClass(string Name, string TypeName, IReadOnlyList<KernelFunction> Tools);
