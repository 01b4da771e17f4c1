using System.Reflection;
using Distill.Core.Errors;
using Distill.Generation.Domains;
using Microsoft.SemanticKernel;

namespace Distill.Cli.Composition;

/// <summary>
/// Loads a user's plugin assembly (Plugins:Assemblies) in its own <see cref="PluginLoadContext"/> and finds what it brings:
/// public <see cref="ITaskDomain"/> classes, and public classes with <c>[KernelFunction]</c> methods (tool classes, named by
/// their class name). Each is created once with its public parameterless constructor. Every problem is one
/// <see cref="DistillException"/> line that names the file or class.
/// </summary>
public static class PluginAssemblies
{
    private const string BuildHint = "build the plugin first (dotnet build -c Release <project>) and list its .dll from the build output, e.g. MyTools/bin/Release/net10.0/MyTools.dll; relative paths are relative to the current folder";

    public static PluginContents Load(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new DistillException($"plugin assembly '{path}' (Plugins:Assemblies) does not exist", BuildHint);
        Assembly assembly;
        try
        {
            // Reads the metadata only: a native library or any other file fails here, before a load context is made.
            AssemblyName.GetAssemblyName(full);
            assembly = new PluginLoadContext(full).LoadFromAssemblyPath(full);
        }
        catch (Exception e) when (e is BadImageFormatException or FileLoadException)
        {
            throw new DistillException($"plugin assembly '{path}' (Plugins:Assemblies) is not a .NET assembly", BuildHint);
        }
        catch (InvalidOperationException e)
        {
            // The dependency resolver refuses a broken .deps.json beside the plugin.
            throw new DistillException($"plugin assembly '{path}' (Plugins:Assemblies) cannot be loaded: {e.Message}", BuildHint);
        }
        Type[] types;
        try
        {
            types = assembly.GetExportedTypes();
        }
        catch (Exception e) when (e is ReflectionTypeLoadException or FileNotFoundException or FileLoadException or TypeLoadException)
        {
            var cause = e is ReflectionTypeLoadException r ? r.LoaderExceptions.FirstOrDefault(x => x is not null)?.Message ?? e.Message : e.Message;
            throw new DistillException($"the types of plugin assembly '{path}' cannot be loaded: {cause}",
                "keep the plugin's dependencies beside its .dll (its build output folder, or `dotnet publish`)");
        }
        return Discover(types, path);
    }

    /// <summary>The domains and tool classes among <paramref name="types"/> (the public types of <paramref name="source"/>).</summary>
    public static PluginContents Discover(IEnumerable<Type> types, string source)
    {
        var domains = new List<ITaskDomain>();
        var toolClasses = new List<PluginToolClass>();
        foreach (var type in types.Where(t => t is { IsClass: true, IsAbstract: false, IsGenericTypeDefinition: false, IsVisible: true }))
        {
            if (typeof(ITaskDomain).IsAssignableFrom(type))
            {
                var domain = (ITaskDomain)Create(type, "domain", source);
                if (string.IsNullOrWhiteSpace(domain.Name))
                    throw new DistillException($"domain class '{type.FullName}' in {source} has an empty Name", "give it a name: it is the prefix of --tasks NAME:SPLIT");
                domains.Add(domain);
            }
            else if (HasKernelFunctions(type))
            {
                var instance = Create(type, "tool", source);
                IReadOnlyList<KernelFunction> tools;
                try
                {
                    tools = KernelPluginFactory.CreateFromObject(instance, type.Name).ToList();
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException or NotSupportedException)
                {
                    throw new DistillException($"tool class '{type.FullName}' in {source} is not a valid Semantic Kernel plugin: {e.Message}", "fix its [KernelFunction] methods");
                }
                toolClasses.Add(new PluginToolClass(type.Name, type.FullName ?? type.Name, tools));
            }
        }
        if (domains.Count == 0 && toolClasses.Count == 0)
            throw new DistillException($"plugin assembly '{source}' holds no ITaskDomain class and no class with [KernelFunction] methods",
                "make the domain or tool class public, or check that Plugins:Assemblies names the plugin's own .dll");
        return new PluginContents(source, domains, toolClasses);
    }

    private static bool HasKernelFunctions(Type type) =>
        type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static)
            .Any(m => m.GetCustomAttribute<KernelFunctionAttribute>() is not null);

    /// <summary>A new instance by the public parameterless constructor: Distill has nothing else to pass.</summary>
    private static object Create(Type type, string kind, string source)
    {
        if (type.GetConstructor(Type.EmptyTypes) is null)
            throw new DistillException($"{kind} class '{type.FullName}' in {source} has no public parameterless constructor",
                $"give it one: Distill creates it with new {type.Name}() (read settings from files or environment variables inside it)");
        try
        {
            return Activator.CreateInstance(type)!;
        }
        catch (TargetInvocationException e)
        {
            throw new DistillException($"{kind} class '{type.FullName}' in {source} failed in its constructor: {e.InnerException?.Message ?? e.Message}", "fix the plugin");
        }
    }
}
