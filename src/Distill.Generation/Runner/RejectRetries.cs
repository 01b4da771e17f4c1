using Distill.Data;

namespace Distill.Generation.Runner;

/// <summary>Which committed rejects a <c>--retry-rejects</c> run generates again, and the attempt number each one gets.</summary>
public static class RejectRetries
{
    /// <summary>
    /// The rejects in <paramref name="datasetDir"/> whose id is in <paramref name="planned"/> (this worker's tasks) and whose
    /// reason is in <paramref name="reasons"/> (all reasons when empty), with their next attempt number (2 for a first retry).
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, int>> SelectAsync(string datasetDir, IReadOnlySet<string> planned, IReadOnlySet<string> reasons,
        CancellationToken cancellationToken)
    {
        var next = new Dictionary<string, int>(StringComparer.Ordinal);
        if (!File.Exists(Path.Combine(datasetDir, DatasetSchema.ManifestFile))) return next;
        var reader = DatasetReader.Open(datasetDir);
        var history = reader.Manifest.Attempts;
        await foreach (var reject in reader.ReadRejectsAsync(cancellationToken).ConfigureAwait(false))
        {
            var id = reject.Sample.Id;
            if (!planned.Contains(id) || reasons.Count > 0 && !reasons.Contains(reject.RejectReason)) continue;
            next[id] = (history is not null && history.TryGetValue(id, out var earlier) ? earlier.Count : 1) + 1;
        }
        return next;
    }
}
