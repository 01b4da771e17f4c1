using Distill.Core.Errors;
using Distill.Core.Samples;
using Distill.Data.Storage;

namespace Distill.Data;

/// <summary>What <see cref="DatasetUpgrade.UpgradeAsync"/> did.</summary>
/// <param name="Upgraded">Shard and reject files rewritten into the compact layout.</param>
/// <param name="AlreadyCurrent">Files that were compact already.</param>
/// <param name="BytesBefore">Size of the rewritten files before.</param>
/// <param name="BytesAfter">Size of their compact replacements.</param>
public sealed record UpgradeResult(int Upgraded, int AlreadyCurrent, long BytesBefore, long BytesAfter);

/// <summary>
/// <c>distill dataset upgrade</c>: rewrites a dataset's older shards (schema versions 1 to 3) in the current compact layout
/// (version 4). Safe under kill and resumable: each new file is written next to its source (<c>part-00000.parquet</c> ->
/// <c>part-00000.v4.parquet</c>, temp file + fsync + rename), the manifest is swapped once at the end under the manifest lock
/// (only entries whose source is still listed with the same SHA-256 are replaced), and only then are the sources deleted.
/// A killed run leaves the old manifest and complete new files, which the next run reuses; a run killed after the swap leaves
/// unlisted sources, which the next run (or that worker's next writer) deletes. Writers are kept out for the duration by
/// holding every worker lock in <c>shards/</c>.
/// </summary>
public static class DatasetUpgrade
{
    public static async Task<UpgradeResult> UpgradeAsync(string directory, LogprobPrecision precision = LogprobPrecision.Float16,
        int rowGroupRows = 256, CancellationToken ct = default)
    {
        string dir = Path.GetFullPath(directory);
        var manifest = DatasetManifest.Load(dir);
        var writerLocks = LockWriters(dir);
        try
        {
            DeleteUpgradedSources(dir, manifest);
            var replaced = new Dictionary<string, (ShardEntry Old, ShardEntry New)>(StringComparer.Ordinal);
            int current = 0;
            long before = 0, after = 0;
            foreach (var (entry, rejects) in manifest.Shards.Select(e => (e, false)).Concat(manifest.Rejects.Select(e => (e, true))))
            {
                string source = DatasetWriter.Resolve(dir, entry.File);
                if (await ParquetShards.LayoutVersionAsync(source, rejects, ct).ConfigureAwait(false) >= CompactSchema.Version)
                {
                    current++;
                    continue;
                }
                string file = UpgradedName(entry.File);
                var (bytes, sha) = await CompactFileAsync(DatasetWriter.Resolve(dir, file), source, entry.Rows, rejects, precision, rowGroupRows, ct).ConfigureAwait(false);
                replaced[entry.File] = (entry, entry with { File = file, Bytes = bytes, Sha256 = sha });
                before += entry.Bytes;
                after += bytes;
            }
            if (replaced.Count > 0 || manifest.SchemaVersion < DatasetSchema.Version)
                await SwapManifestAsync(dir, replaced, ct).ConfigureAwait(false);
            return new UpgradeResult(replaced.Count, current, before, after);
        }
        finally
        {
            foreach (var l in writerLocks) await l.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary><c>shards/part-00000.parquet</c> -> <c>shards/part-00000.v4.parquet</c>.</summary>
    public static string UpgradedName(string file) => file[..^".parquet".Length] + DatasetSchema.UpgradedSuffix + ".parquet";

    // A complete new file from a killed run is reused: files only appear under their final name once fsync'd and renamed.
    private static async Task<(long Bytes, string Sha256)> CompactFileAsync(string target, string source, long rows, bool rejects,
        LogprobPrecision precision, int rowGroupRows, CancellationToken ct)
    {
        if (File.Exists(target) && await ParquetShards.LayoutVersionAsync(target, rejects, ct).ConfigureAwait(false) >= CompactSchema.Version)
        {
            var (fs, reader) = await ParquetShards.OpenAsync(target, rejects, ct).ConfigureAwait(false);
            long have;
            await using (fs)
            await using (reader)
                have = ParquetShards.RowCount(reader);
            if (have == rows) return (new FileInfo(target).Length, await ParquetShards.Sha256Async(target, ct).ConfigureAwait(false));
        }
        var samples = new List<Sample>();
        var reasons = new List<string>();
        await foreach (var group in ParquetShards.ReadSamplesAsync(source, rejects, ct).ConfigureAwait(false))
            foreach (var (sample, reason) in group)
            {
                samples.Add(sample);
                reasons.Add(reason ?? "");
            }
        return await ParquetShards.WriteSamplesAtomicAsync(target, samples, rejects ? reasons : null, rowGroupRows, ShardFormat.Compact, precision, ct)
            .ConfigureAwait(false);
    }

    private static async Task SwapManifestAsync(string dir, Dictionary<string, (ShardEntry Old, ShardEntry New)> replaced, CancellationToken ct)
    {
        var stale = new List<string>();
        await using (await DatasetWriter.AcquireManifestLockAsync(dir, TimeSpan.FromSeconds(60), ct).ConfigureAwait(false))
        {
            var current = DatasetManifest.Load(dir);
            ShardEntry Swap(ShardEntry e)
            {
                if (!replaced.TryGetValue(e.File, out var r)) return e;
                // Rewritten by someone else since it was read (a retried reject): keep theirs, drop ours.
                if (!string.Equals(r.Old.Sha256, e.Sha256, StringComparison.OrdinalIgnoreCase)) return e;
                stale.Add(e.File);
                return r.New;
            }
            var updated = current with
            {
                SchemaVersion = DatasetSchema.Version,
                UpdatedAt = DateTimeOffset.UtcNow,
                Shards = current.Shards.Select(Swap).ToArray(),
                Rejects = current.Rejects.Select(Swap).ToArray(),
            };
            await DatasetWriter.WriteManifestAsync(dir, updated, ct).ConfigureAwait(false);
        }
        foreach (var file in stale) ParquetShards.TryDelete(DatasetWriter.Resolve(dir, file));
        foreach (var (file, r) in replaced)
            if (!stale.Contains(file)) ParquetShards.TryDelete(DatasetWriter.Resolve(dir, r.New.File));
    }

    /// <summary>Sources left by a run killed between its manifest swap and its deletes: unlisted, and their upgraded twin listed.</summary>
    private static void DeleteUpgradedSources(string dir, DatasetManifest manifest)
    {
        var listed = manifest.Shards.Concat(manifest.Rejects).Select(s => s.File).ToHashSet(StringComparer.Ordinal);
        foreach (var file in listed.Where(f => f.EndsWith(DatasetSchema.UpgradedSuffix + ".parquet", StringComparison.Ordinal)))
        {
            string source = file[..^(DatasetSchema.UpgradedSuffix + ".parquet").Length] + ".parquet";
            if (!listed.Contains(source)) ParquetShards.TryDelete(DatasetWriter.Resolve(dir, source));
        }
    }

    /// <summary>Holds every writer's lock (and the single writer's), so no writer starts or runs during the upgrade.</summary>
    private static List<FileStream> LockWriters(string dir)
    {
        string shards = Path.Combine(dir, DatasetSchema.ShardsFolder);
        Directory.CreateDirectory(shards);
        var paths = Directory.EnumerateFiles(shards, ".writer*.lock").Append(Path.Combine(shards, ".writer.lock")).Distinct().ToList();
        var locks = new List<FileStream>();
        try
        {
            foreach (var path in paths)
                locks.Add(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            return locks;
        }
        catch (IOException e)
        {
            foreach (var l in locks) l.Dispose();
            throw new DistillException($"Dataset '{dir}' is being written (a writer holds a lock in '{shards}'), so it cannot be upgraded now.",
                "Let `distill generate` finish (or stop it), then run `distill dataset upgrade` again.", e);
        }
    }
}
