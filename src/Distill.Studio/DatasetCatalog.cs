using System.Collections.Concurrent;
using Distill.Core.Samples;
using Distill.Data;
using Distill.Generation.Domains;

namespace Distill.Studio;

/// <summary>A dataset the studio shows: its key in URLs (never a path a client can choose), folder and counts.</summary>
public sealed record DatasetEntry(string Key, string Path, long Accepted, long Rejected);

/// <summary>A dataset key or sample id the studio does not know.</summary>
public sealed class StudioNotFoundException(string message) : Exception(message);

/// <summary>
/// A dataset's sample list: one summary per sample (accepted, then rejected, in manifest order) and their text. While the studio
/// is still reading a large dataset, <see cref="Rows"/> holds the samples read so far, <see cref="Complete"/> is false and
/// <see cref="Expected"/> says how many the manifest lists.
/// </summary>
public sealed record DatasetSummaries(IReadOnlyList<SampleSummary> Rows, SampleTexts Texts, bool Complete = true, long Expected = 0);

/// <summary>
/// The dataset folders under the studio's roots, each known by a key (its path relative to the root), and a summary of every
/// sample (accepted and rejected) for the list, with its task's tier where the task source can be loaded again, kept in memory
/// (the previews and search text in a temporary file, <see cref="SampleTexts"/>) and re-read when the manifest changes.
/// </summary>
public sealed class DatasetCatalog(IReadOnlyList<string> roots, IReadOnlyList<ITaskDomain>? domains = null)
{
    private readonly ConcurrentDictionary<string, (DateTime Stamp, SummaryRead Read)> _summaries = new(StringComparer.Ordinal);

    /// <summary>
    /// How long a request waits for the whole list before it is answered with the part read so far (a large dataset takes a
    /// minute or more to read; the page shows what there is and asks again).
    /// </summary>
    public TimeSpan PartialAfter { get; init; } = TimeSpan.FromMilliseconds(500);

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
    /// Summaries of the dataset's accepted samples, then its rejects, in manifest order: the whole list, or, when reading it takes
    /// longer than <see cref="PartialAfter"/>, the part read so far (<see cref="DatasetSummaries.Complete"/> false; the read goes
    /// on in the background). <paramref name="complete"/> waits for the whole list. A read that failed (a corrupt shard) is
    /// reported to the request that finds it, once: the next request reads the dataset again. A replaced list's text file is not
    /// disposed here (a request may still be paging through it): its handle's finalizer closes it.
    /// </summary>
    public async Task<DatasetSummaries> SummariesAsync(DatasetEntry dataset, CancellationToken ct = default, bool complete = false)
    {
        var stamp = File.GetLastWriteTimeUtc(System.IO.Path.Combine(dataset.Path, DatasetSchema.ManifestFile));
        var entry = _summaries.AddOrUpdate(dataset.Path,
            _ => (stamp, SummaryRead.Start(dataset, domains)),
            (_, old) => old.Stamp == stamp ? old : (stamp, SummaryRead.Start(dataset, domains)));
        var read = entry.Read;
        // A partial answer holds at least one page, so the first page of a large dataset is never an empty list.
        var partial = complete ? Task.Delay(Timeout.InfiniteTimeSpan, ct) : Task.WhenAll(Task.Delay(PartialAfter, ct), read.FirstPage);
        await Task.WhenAny(read.Done, partial).ConfigureAwait(false);
        ct.ThrowIfCancellationRequested();
        if (read.Done.IsFaulted)
        {
            // Polling pages would otherwise restart a failing read every second and show its first rows as if all were well.
            _summaries.TryRemove(KeyValuePair.Create(dataset.Path, entry));
            await read.Done.ConfigureAwait(false); // the read's error, as the caller's
        }
        return read.Snapshot();
    }

    /// <summary>The full sample and the pipeline's reject reason (null for an accepted sample).</summary>
    public async Task<(Sample Sample, string? RejectReason)> FindAsync(DatasetEntry dataset, string id, CancellationToken ct = default)
    {
        // A sample of the page shown is among the rows read so far; any other id waits for the whole list before it is "not found".
        var summary = (await SummariesAsync(dataset, ct).ConfigureAwait(false)).Rows.FirstOrDefault(s => s.Id == id)
            ?? (await SummariesAsync(dataset, ct, complete: true).ConfigureAwait(false)).Rows.FirstOrDefault(s => s.Id == id)
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

    /// <summary>
    /// One read of a dataset's list, in the background: rows are appended as they are read (every sample's fields and text, not its
    /// teacher logprobs, which are most of a tool-trace row and not shown in the list), and <see cref="Snapshot"/> hands out what
    /// is there.
    /// </summary>
    private sealed class SummaryRead
    {
        private readonly List<SampleSummary> _rows = [];
        private readonly object _lock = new();
        private readonly SampleTexts _texts = SampleTexts.Create();
        private long _expected;
        private DatasetSummaries? _final;

        /// <summary>Completes when every shard has been read (faulted with the read's error).</summary>
        public Task Done { get; private set; } = Task.CompletedTask;

        private readonly TaskCompletionSource _firstPage = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes once a full page of the list (<see cref="SampleFilter.DefaultPageSize"/> rows) has been read.</summary>
        public Task FirstPage => _firstPage.Task;

        public static SummaryRead Start(DatasetEntry dataset, IReadOnlyList<ITaskDomain>? domains)
        {
            var read = new SummaryRead { _expected = dataset.Accepted + dataset.Rejected };
            read.Done = Task.Run(() => read.ReadAsync(dataset, domains));
            return read;
        }

        public DatasetSummaries Snapshot()
        {
            lock (_lock) return _final ?? new DatasetSummaries(_rows.ToArray(), _texts, Complete: false, _expected);
        }

        private async Task ReadAsync(DatasetEntry dataset, IReadOnlyList<ITaskDomain>? domains)
        {
            try
            {
                var tiers = await TaskTiers.ReadAsync(dataset.Path, domains ?? []).ConfigureAwait(false);
                string? Tier(Sample s) => s.SeedInput is { } input ? tiers.GetValueOrDefault(input) : null;
                var reader = DatasetReader.Open(dataset.Path);
                var facets = new FacetPool();
                foreach (var file in reader.ShardPaths)
                    await foreach (var s in DatasetReader.ReadFileAsync(file, withLogprobs: false).ConfigureAwait(false))
                        Add(SampleSummary.From(dataset.Key, file, s, null, Tier(s), _texts.Add(s, null), facets));
                foreach (var file in reader.RejectPaths)
                    await foreach (var r in DatasetReader.ReadRejectsFileAsync(file, withLogprobs: false).ConfigureAwait(false))
                        Add(SampleSummary.From(dataset.Key, file, r.Sample, r.RejectReason, Tier(r.Sample), _texts.Add(r.Sample, r.RejectReason), facets));
                lock (_lock)
                {
                    _rows.TrimExcess();
                    _final = new DatasetSummaries(_rows, _texts, Complete: true, _rows.Count);
                }
                // Reading allocates far more than the list keeps (every row's messages and strings); a compacting collection hands
                // that back to the system now instead of leaving the process at its high-water mark while the studio sits idle.
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            }
            catch
            {
                _texts.Dispose();
                throw;
            }
        }

        private void Add(SampleSummary row)
        {
            int count;
            lock (_lock)
            {
                _rows.Add(row);
                count = _rows.Count;
            }
            if (count == SampleFilter.DefaultPageSize) _firstPage.TrySetResult();
        }
    }
}
