using System.Text.Json.Nodes;
using Distill.Core.Errors;
using Distill.Data;
using Distill.Generation.Domains;
using Distill.Generation.Recipes;
using Distill.Generation.Runner;

namespace Distill.Studio;

/// <summary>
/// The task tier of a dataset's rows. Rows do not store it: a seed task's tags (the world's <c>tier</c> T0..T4) steer routing and
/// evaluation and never reach the teacher or the row. But every row keeps its seed input (the task's input, verbatim), and the
/// manifest keeps the task source and count that <c>distill generate</c> loaded (<c>config.tasks</c>, <c>config.count</c>), so
/// loading that source again gives each input its task's tier.
/// </summary>
internal static class TaskTiers
{
    public const string Tag = "tier";

    /// <summary>
    /// Tier by seed input for the dataset; empty when the manifest names no task source, or the source cannot be loaded again (a
    /// task file since moved or deleted, a domain this studio does not have): then the rows simply have no tier.
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, string>> ReadAsync(string datasetDir, IReadOnlyList<ITaskDomain> domains, CancellationToken ct = default)
    {
        if (DatasetManifest.Load(datasetDir).Config is not { } config || Text(config, "tasks") is not { } spec) return Empty;
        try
        {
            return ByInput(await TaskSources.LoadAsync(spec, Number(config, "count"), domains, ct).ConfigureAwait(false));
        }
        catch (Exception e) when (e is DistillException or IOException or UnauthorizedAccessException)
        {
            return Empty;
        }
    }

    /// <summary>
    /// Each task input's tier. An input that tasks of different tiers share has none: which task a row came from is not known.
    /// </summary>
    public static IReadOnlyDictionary<string, string> ByInput(IEnumerable<SeedTask> tasks)
    {
        var tiers = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var task in tasks)
        {
            var tier = task.Tags?.GetValueOrDefault(Tag);
            tiers[task.Input] = tiers.TryGetValue(task.Input, out var seen) && seen != tier ? null : tier;
        }
        return tiers.Where(t => t.Value is not null).ToDictionary(t => t.Key, t => t.Value!, StringComparer.Ordinal);
    }

    private static readonly IReadOnlyDictionary<string, string> Empty = new Dictionary<string, string>();

    private static string? Text(JsonObject config, string key) =>
        config[key] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;

    private static int? Number(JsonObject config, string key) =>
        config[key] is JsonValue v && v.TryGetValue<int>(out var n) ? n : null;
}
