using System.Reflection;
using System.Runtime.Loader;

namespace Distill.Cli.Composition;

/// <summary>
/// The load context of one plugin assembly. An assembly Distill itself ships (its own contracts such as <c>ITaskDomain</c>,
/// Semantic Kernel, the runtime) comes from Distill's default context, so the plugin's types implement the very interfaces
/// and carry the very attributes Distill looks for; anything else the plugin needs is resolved from the plugin's folder
/// (its .deps.json, else the files beside it).
/// </summary>
internal sealed class PluginLoadContext(string pluginPath) : AssemblyLoadContext(Path.GetFileNameWithoutExtension(pluginPath))
{
    /// <summary>Simple names of the assemblies the host was started with (the trusted platform assemblies: its deps.json and the runtime).</summary>
    private static readonly Lazy<HashSet<string>> HostAssemblies = new(() =>
        ((AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string) ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(Path.GetFileNameWithoutExtension)
            .OfType<string>()
            .ToHashSet(StringComparer.OrdinalIgnoreCase));

    private readonly AssemblyDependencyResolver _resolver = new(pluginPath);

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        // Null falls back to the default context: one copy of every shared type.
        if (assemblyName.Name is null || HostAssemblies.Value.Contains(assemblyName.Name)) return null;
        var path = _resolver.ResolveAssemblyToPath(assemblyName);
        return path is null ? null : LoadFromAssemblyPath(path);
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        var path = _resolver.ResolveUnmanagedDllToPath(unmanagedDllName);
        return path is null ? IntPtr.Zero : LoadUnmanagedDllFromPath(path);
    }
}
