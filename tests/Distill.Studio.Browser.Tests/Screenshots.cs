using SkiaSharp;

namespace Distill.Studio.Browser.Tests;

/// <summary>
/// Screenshots kept as test artifacts: under the test output's <c>screenshots/</c>, or the folder <see cref="FolderEnv"/> names
/// (how docs/images/studio-conversation.png is made).
/// </summary>
public static class Screenshots
{
    public const string FolderEnv = "DISTILL_STUDIO_SCREENSHOTS";

    public static string Folder => Environment.GetEnvironmentVariable(FolderEnv) is { Length: > 0 } folder
        ? Path.GetFullPath(folder)
        : Path.Combine(AppContext.BaseDirectory, "screenshots");

    public static string Save(string name, byte[] png)
    {
        Directory.CreateDirectory(Folder);
        var path = Path.Combine(Folder, name);
        File.WriteAllBytes(path, png);
        return path;
    }

    /// <summary>
    /// The share of pixels that have the image's most common colour: near 1 for a blank (or all-background) capture, well below
    /// for a rendered page.
    /// </summary>
    public static double DominantColourShare(byte[] png)
    {
        using var bitmap = SKBitmap.Decode(png) ?? throw new InvalidDataException("The screenshot is not a PNG Skia can decode.");
        var counts = new Dictionary<SKColor, int>();
        foreach (var pixel in bitmap.Pixels) counts[pixel] = counts.GetValueOrDefault(pixel) + 1;
        return (double)counts.Values.Max() / bitmap.Pixels.Length;
    }

    /// <summary>How many different colours the image holds (text, badges and the heat strip give hundreds).</summary>
    public static int DistinctColours(byte[] png)
    {
        using var bitmap = SKBitmap.Decode(png) ?? throw new InvalidDataException("The screenshot is not a PNG Skia can decode.");
        return bitmap.Pixels.Distinct().Count();
    }
}
