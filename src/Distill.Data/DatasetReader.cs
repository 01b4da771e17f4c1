using System.Runtime.CompilerServices;
using Distill.Core.Errors;
using Distill.Core.Samples;
using Distill.Data.Storage;

namespace Distill.Data;

/// <summary>
/// Reads a dataset folder (only the files its manifest lists) or a single loose .parquet file, streaming one row group
/// at a time so memory stays bounded by the row group size, never the dataset size.
/// Every problem is a <see cref="DistillException"/> naming the file; <see cref="DatasetValidator"/> lists all of them at once.
/// </summary>
public sealed class DatasetReader
{
    private DatasetReader(string directory, DatasetManifest manifest)
    {
        Directory = directory;
        Manifest = manifest;
    }

    public string Directory { get; }
    public DatasetManifest Manifest { get; }

    /// <summary>Accepted samples according to the manifest.</summary>
    public long SampleCount => Manifest.Counts.Accepted;

    /// <summary>Rejected samples according to the manifest.</summary>
    public long RejectCount => Manifest.Counts.Rejected;

    /// <summary>
    /// Opens a dataset folder: reads the manifest and checks that every shard it names exists with the recorded size
    /// (a cheap truncation check; checksums are <see cref="DatasetValidator"/>'s job).
    /// </summary>
    public static DatasetReader Open(string directory)
    {
        string dir = Path.GetFullPath(directory);
        var manifest = DatasetManifest.Load(dir);
        foreach (var shard in manifest.Shards.Concat(manifest.Rejects))
        {
            string path = DatasetWriter.Resolve(dir, shard.File);
            if (!File.Exists(path))
                throw new DistillException($"Shard '{path}' named by the manifest of '{dir}' is missing.",
                    "Restore the file, or run `distill dataset validate` to list every problem.");
            long size = new FileInfo(path).Length;
            if (size != shard.Bytes)
                throw new DistillException(
                    $"Shard '{path}' is {size} bytes but the manifest of '{dir}' recorded {shard.Bytes}: it is truncated or was replaced.",
                    "Restore the file, or run `distill dataset validate` to list every problem.");
        }
        return new DatasetReader(dir, manifest);
    }

    /// <summary>Full paths of the committed sample shards, in manifest order.</summary>
    public IReadOnlyList<string> ShardPaths => Manifest.Shards.Select(s => DatasetWriter.Resolve(Directory, s.File)).ToArray();

    /// <summary>Full paths of the committed reject shards, in manifest order.</summary>
    public IReadOnlyList<string> RejectPaths => Manifest.Rejects.Select(s => DatasetWriter.Resolve(Directory, s.File)).ToArray();

    /// <summary>Streams accepted samples shard by shard, row group by row group.</summary>
    /// <param name="withLogprobs">As in <see cref="ReadFileAsync"/>: false skips the teacher logprobs.</param>
    public async IAsyncEnumerable<Sample> ReadSamplesAsync([EnumeratorCancellation] CancellationToken ct = default, bool withLogprobs = true)
    {
        foreach (string path in ShardPaths)
            await foreach (var sample in ReadFileAsync(path, ct, withLogprobs).ConfigureAwait(false))
                yield return sample;
    }

    /// <summary>Streams rejected samples shard by shard.</summary>
    /// <param name="withLogprobs">As in <see cref="ReadFileAsync"/>: false skips the teacher logprobs.</param>
    public async IAsyncEnumerable<RejectedSample> ReadRejectsAsync([EnumeratorCancellation] CancellationToken ct = default, bool withLogprobs = true)
    {
        foreach (string path in RejectPaths)
            await foreach (var rejected in ReadRejectsFileAsync(path, ct, withLogprobs).ConfigureAwait(false))
                yield return rejected;
    }

    /// <summary>The accepted sample with this id, else the rejected one, else null (a scan: fine for `inspect`).</summary>
    public async Task<(Sample Sample, string? RejectReason)?> FindAsync(string id, CancellationToken ct = default)
    {
        await foreach (var s in ReadSamplesAsync(ct).ConfigureAwait(false))
            if (s.Id == id) return (s, null);
        await foreach (var r in ReadRejectsAsync(ct).ConfigureAwait(false))
            if (r.Sample.Id == id) return (r.Sample, r.RejectReason);
        return null;
    }

    /// <summary>
    /// Streams the samples of one .parquet file (a shard in any schema version, an exported file, or one written by another tool
    /// with the same columns).
    /// </summary>
    /// <param name="withLogprobs">false: skip the teacher logprobs (messages come back without them), which in a compact shard
    /// are most of the bytes and of the decoding time; for lists and searches that show text only.</param>
    public static async IAsyncEnumerable<Sample> ReadFileAsync(string parquetPath, [EnumeratorCancellation] CancellationToken ct = default,
        bool withLogprobs = true)
    {
        await foreach (var group in ParquetShards.ReadSamplesAsync(parquetPath, false, ct, withLogprobs).ConfigureAwait(false))
            foreach (var (sample, _) in group)
                yield return sample;
    }

    /// <summary>Streams the rejected samples of one rejects .parquet file.</summary>
    /// <param name="withLogprobs">As in <see cref="ReadFileAsync"/>.</param>
    public static async IAsyncEnumerable<RejectedSample> ReadRejectsFileAsync(string parquetPath, [EnumeratorCancellation] CancellationToken ct = default,
        bool withLogprobs = true)
    {
        await foreach (var group in ParquetShards.ReadSamplesAsync(parquetPath, true, ct, withLogprobs).ConfigureAwait(false))
            foreach (var (sample, reason) in group)
                yield return new RejectedSample(sample, reason ?? "");
    }

    /// <summary>Samples from a dataset folder or a loose .parquet file, whichever <paramref name="path"/> is.</summary>
    public static IAsyncEnumerable<Sample> ReadAnyAsync(string path, CancellationToken ct = default) =>
        File.Exists(path) ? ReadFileAsync(path, ct) : Open(path).ReadSamplesAsync(ct);
}
