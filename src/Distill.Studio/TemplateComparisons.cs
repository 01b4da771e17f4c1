using System.Text.Json;
using System.Text.Json.Serialization;

namespace Distill.Studio;

/// <summary>
/// A <c>distill templates compare</c> result the template page shows: its folder's key (its path relative to the run root, never
/// a path a client can choose), both arms' <c>id@version</c>, the verdict line, and the chart PNG beside it.
/// </summary>
public sealed record TemplateComparisonEntry(string Key, string A, string B, string Verdict, [property: JsonIgnore] string Chart);

/// <summary>The comparisons under the studio's run folders: every <c>compare.json</c> with its <c>charts/compare.png</c>.</summary>
public static class TemplateComparisons
{
    public const string ReportFile = "compare.json";
    public static readonly string ChartFile = Path.Combine("charts", "compare.png");

    /// <summary>How deep below a run folder compare folders are looked for (runs/template-compare/&lt;id&gt; is two levels down).</summary>
    public const int MaxDepth = 4;

    /// <summary>Sorted by key; a compare.json that is not a comparison (or has no chart) is left out rather than failing the page.</summary>
    public static IReadOnlyList<TemplateComparisonEntry> Find(IEnumerable<string> runRoots)
    {
        var found = new List<TemplateComparisonEntry>();
        foreach (var root in runRoots.Select(Path.GetFullPath).Where(Directory.Exists))
            Walk(root, root, 0, found);
        // Two run folders may hold the same relative path: each key names one comparison.
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var unique = found.Select(c =>
        {
            var key = c.Key;
            for (var n = 2; !keys.Add(key); n++) key = $"{c.Key}#{n}";
            return c with { Key = key };
        }).ToList();
        return unique.OrderBy(c => c.Key, StringComparer.Ordinal).ToList();
    }

    public static TemplateComparisonEntry Resolve(IEnumerable<string> runRoots, string? key) =>
        Find(runRoots).FirstOrDefault(c => c.Key == key) ?? throw new StudioNotFoundException($"No template comparison '{key}' under the studio's run folders.");

    private static void Walk(string root, string dir, int depth, List<TemplateComparisonEntry> found)
    {
        if (Read(root, dir) is { } entry) found.Add(entry);
        if (depth >= MaxDepth) return;
        foreach (var sub in Directory.EnumerateDirectories(dir)) Walk(root, sub, depth + 1, found);
    }

    private static TemplateComparisonEntry? Read(string root, string dir)
    {
        var report = Path.Combine(dir, ReportFile);
        var chart = Path.Combine(dir, ChartFile);
        if (!File.Exists(report) || !File.Exists(chart)) return null;
        try
        {
            using var json = JsonDocument.Parse(File.ReadAllBytes(report));
            var r = json.RootElement;
            var key = Path.GetRelativePath(root, dir).Replace('\\', '/');
            return new TemplateComparisonEntry(key == "." ? Path.GetFileName(dir) : key,
                r.GetProperty("a").GetProperty("name").GetString()!, r.GetProperty("b").GetProperty("name").GetString()!,
                r.GetProperty("verdict").GetString()!, chart);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or IOException)
        {
            return null;
        }
    }
}
