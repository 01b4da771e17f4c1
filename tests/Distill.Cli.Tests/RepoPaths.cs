namespace Distill.Cli.Tests;

/// <summary>Folders of the repository the tests run from (found by walking up from the test binaries).</summary>
public static class RepoPaths
{
    /// <summary>The repository's prompts/ folder.</summary>
    public static string Prompts { get; } = Find();

    /// <summary>The repository's root folder (the one with Platform.sln).</summary>
    public static string Root { get; } = Path.GetDirectoryName(Prompts)!;

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "prompts");
            if (File.Exists(Path.Combine(candidate, "world-agent.prompt"))) return candidate;
        }
        throw new InvalidOperationException("prompts/ not found above the test folder");
    }
}
