using System.Text.Json.Nodes;
using Distill.Core.Errors;

namespace Distill.Data;

/// <summary>Finds dataset folders (a folder with manifest.json) under the paths a user names.</summary>
public static class DatasetFolders
{
    /// <summary>How deep below a named folder datasets are looked for (runs/quickstart/datasets/x is three levels down).</summary>
    public const int MaxDepth = 4;

    /// <summary>
    /// Each path that is a dataset folder, and the dataset folders below each one that is not; sorted, without duplicates.
    /// Evaluation datasets (trajectories of evaluated models, <c>"evaluation": true</c> in the manifest's config) are left
    /// out unless <paramref name="includeEvaluations"/>: they hold a model's answers, not a teacher's data.
    /// </summary>
    public static IReadOnlyList<string> Find(IEnumerable<string> paths, bool includeEvaluations = false)
    {
        var found = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var path in paths.Select(Path.GetFullPath))
        {
            if (!Directory.Exists(path))
                throw new DistillException($"'{path}' is not a folder", "pass a dataset folder (with manifest.json) or a folder holding dataset folders");
            Walk(path, 0, found);
        }
        return found.Where(d => includeEvaluations || !IsEvaluation(d)).ToList();
    }

    private static void Walk(string dir, int depth, SortedSet<string> found)
    {
        if (File.Exists(Path.Combine(dir, DatasetSchema.ManifestFile)))
        {
            found.Add(dir);
            return;
        }
        if (depth >= MaxDepth) return;
        foreach (var sub in Directory.EnumerateDirectories(dir)) Walk(sub, depth + 1, found);
    }

    private static bool IsEvaluation(string dir) =>
        DatasetManifest.Load(dir).Config is JsonObject config && config["evaluation"] is JsonValue v && v.TryGetValue<bool>(out var b) && b;
}
