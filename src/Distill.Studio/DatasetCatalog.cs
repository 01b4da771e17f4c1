using System.Collections.Concurrent;
using Distill.Core.Samples;
using Distill.Data;
using Distill.Generation.Domains;

namespace Distill.Studio;

/// <summary>A dataset the studio shows: its key in URLs (never a path a client can choose), folder and counts.</summary>
public sealed record DatasetEntry(string Key, string Path, long Accepted, long Rejected);

/// <summary>A dataset key or sample id the studio does not know.</summary>
public sealed class StudioNotFoundException(string message) : Exception(message);

/// <summary>A dataset's sample list: one summary per sample (accepted, then rejected, in manifest order) and their text.</summary>
public sealed record DatasetSummaries(IReadOnlyList<SampleSummary> Rows, SampleTexts Texts);

/// <summary>
/// The dataset folders under the studio's roots, each known by a key (its path relative to the root), and a summary of every
/// sample (accepted and rejected) for the list, with its task's tier where the task source can be loaded again, kept in memory
/// (the previews and search text in a temporary file, <see cref="SampleTexts"/>) and re-read when the manifest changes.
/// </summary>
public sealed class DatasetCatalog(IReadOnlyList<string> roots, IReadOnlyList<ITaskDomain>? domains = null)
{
    private readonly ConcurrentDictionary<string, (DateTime Stamp, Task<DatasetSummaries> Summaries)> _summaries = new(StringComparer.Ordinal);

    /// <summary>The datasets under the roots now (folders appear and go while the studio runs).</summary>
    public IReadOnlyList<DatasetEntry> List()
    {
        var entries = new List<DatasetEntry>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var root in roots.Select(System.IO.Path.GetFullPath))
        {
            foreach (var dir in DatasetFolders.Find([root]))
            {
                var relative = System.IO.Path.GetRelativePath(root, dir).Replace('\\', '/');
                var key = relative == "." ? System.IO.Path.GetFileName(dir) : relative;
                for (var n = 2; !keys.Add(key); n++) key = $"{relative}#{n}";
                var counts = DatasetManifest.Load(dir).Counts;
                entries.Add(new DatasetEntry(key, dir, counts.Accepted, counts.Rejected));
            }
        }
        return entries;
    }

    public DatasetEntry Resolve(string? key) =>
        List().FirstOrDefault(d => d.Key == key) ?? throw new StudioNotFoundException($"No dataset '{key}' under the studio's data folders.");

    /// <summary>
    /// Summaries of the dataset's accepted samples, then its rejects, in manifest order. A replaced list's text file is not
    /// disposed here (a request may still be paging through it): its handle's finalizer closes and deletes it.
    /// </summary>
    public Task<DatasetSummaries> SummariesAsync(DatasetEntry dataset, CancellationToken ct = default)
    {
        var stamp = File.GetLastWriteTimeUtc(System.IO.Path.Combine(dataset.Path, DatasetSchema.ManifestFile));
        var cached = _summaries.AddOrUpdate(dataset.Path,
            _ => (stamp, ReadAsync(dataset)),
            (_, old) => old.Stamp == stamp && !old.Summaries.IsFaulted ? old : (stamp, ReadAsync(dataset)));
        return cached.Summaries.WaitAsync(ct);
    }

    /// <summary>The full sample and the pipeline's reject reason (null for an accepted sample).</summary>
    public async Task<(Sample Sample, string? RejectReason)> FindAsync(DatasetEntry dataset, string id, CancellationToken ct = default)
    {
        var summary = (await SummariesAsync(dataset, ct).ConfigureAwait(false)).Rows.FirstOrDefault(s => s.Id == id)
            ?? throw new StudioNotFoundException($"No sample '{id}' in dataset '{dataset.Key}'.");
        if (summary.Source == SampleSummary.Accepted)
        {
            await foreach (var s in DatasetReader.ReadFileAsync(summary.File, ct).ConfigureAwait(false))
                if (s.Id == id) return (s, null);
        }
        else
        {
            await foreach (var r in DatasetReader.ReadRejectsFileAsync(summary.File, ct).ConfigureAwait(false))
                if (r.Sample.Id == id) return (r.Sample, r.RejectReason);
        }
        throw new StudioNotFoundException($"Sample '{id}' is no longer in '{summary.File}'.");
    }

    /// <summary>Reads every sample's fields and text, not its teacher logprobs (most of a tool-trace row, and not shown in the list).</summary>
    private async Task<DatasetSummaries> ReadAsync(DatasetEntry dataset)
    {
        var tiers = await TaskTiers.ReadAsync(dataset.Path, domains ?? []).ConfigureAwait(false);
        string? Tier(Sample s) => s.SeedInput is { } input ? tiers.GetValueOrDefault(input) : null;
        var reader = DatasetReader.Open(dataset.Path);
        var texts = SampleTexts.Create();
        try
        {
            var strings = new StringPool();
            var rows = new List<SampleSummary>();
            foreach (var file in reader.ShardPaths)
                await foreach (var s in DatasetReader.ReadFileAsync(file, withLogprobs: false).ConfigureAwait(false))
                    rows.Add(SampleSummary.From(dataset.Key, file, s, null, Tier(s), texts.Add(s, null), strings));
            foreach (var file in reader.RejectPaths)
                await foreach (var r in DatasetReader.ReadRejectsFileAsync(file, withLogprobs: false).ConfigureAwait(false))
                    rows.Add(SampleSummary.From(dataset.Key, file, r.Sample, r.RejectReason, Tier(r.Sample), texts.Add(r.Sample, r.RejectReason), strings));
            rows.TrimExcess();
            // Reading allocates far more than the list keeps (every row's messages and strings); a compacting collection hands
            // that back to the system now instead of leaving the process at its high-water mark while the studio sits idle.
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            return new DatasetSummaries(rows, texts);
        }
        catch
        {
            texts.Dispose();
            throw;
        }
    }
}
