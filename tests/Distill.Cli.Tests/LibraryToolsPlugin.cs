using System.Reflection;

namespace Distill.Cli.Tests;

/// <summary>The example plugin (examples/own-domain/LibraryTools) as this test build built it: its .dll, never referenced.</summary>
public static class LibraryToolsPlugin
{
    public static string Path { get; } = System.IO.Path.GetFullPath(typeof(LibraryToolsPlugin).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "LibraryToolsPlugin").Value!);

    /// <summary>The example's folder: appsettings.json, prompts/, tasks.jsonl, heldout.jsonl, train.json.</summary>
    public static string ExampleDir { get; } = System.IO.Path.Combine(RepoPaths.Root, "examples", "own-domain");
}
