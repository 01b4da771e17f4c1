namespace Distill.Generation.Tests.Templates;

/// <summary>A temporary prompts folder; deleted on dispose.</summary>
public sealed class TempPromptFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("distill-prompts-").FullName;

    /// <summary>Writes <paramref name="relativePath"/> (e.g. "a/x.prompt") and returns its full path.</summary>
    public string Write(string relativePath, string text)
    {
        var full = System.IO.Path.Combine(Path, relativePath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllText(full, text);
        return full;
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

internal static class RepoPaths
{
    /// <summary>The repository root: the folder holding Platform.sln, found by walking up from the test binaries.</summary>
    public static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Platform.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no Platform.sln above {AppContext.BaseDirectory}");
    }
}
