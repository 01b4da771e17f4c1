namespace Distill.Cli.Tests;

/// <summary>Folders of the repository the tests run from (found by walking up from the test binaries).</summary>
public static class RepoPaths
{
    /// <summary>The repository's root folder (the one with Platform.sln).</summary>
    public static string Root { get; } = Find();

    /// <summary>The repository's prompts/ folder.</summary>
    public static string Prompts { get; } = Path.Combine(Root, "prompts");

    // Platform.sln, not prompts/: the build copies prompts/ beside the CLI, and so into this test's output folder.
    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Platform.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("Platform.sln not found above the test folder");
    }
}
