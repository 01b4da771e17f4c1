namespace Distill.Cli.Tests.Examples;

/// <summary>A copy of one of the repository's examples/ folders in a temporary folder, so a test runs the example's own files.</summary>
public static class ExampleFolder
{
    public static string CopyTo(string example, string destination)
    {
        var source = Path.Combine(RepoPaths.Root, "examples", example);
        Directory.CreateDirectory(destination);
        foreach (var file in Directory.GetFiles(source))
        {
            File.Copy(file, Path.Combine(destination, Path.GetFileName(file)));
        }
        return destination;
    }

    /// <summary>Every file under <paramref name="dir"/> that contains <paramref name="text"/> (as UTF-8 bytes, binary files included).</summary>
    public static IReadOnlyList<string> FilesContaining(string dir, string text)
    {
        var needle = System.Text.Encoding.UTF8.GetBytes(text);
        return Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Where(f => File.ReadAllBytes(f).AsSpan().IndexOf(needle) >= 0)
            .ToList();
    }
}
