using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Distill.Core.Errors;
using Distill.Core.Samples;
using Parquet;
using Parquet.Schema;
using Parquet.Serialization;

namespace Distill.Data.Storage;

/// <summary>Low-level shard file I/O: atomic writes, schema checks, streaming reads one row group at a time.</summary>
/// <remarks>Every failure to read a file becomes a <see cref="DistillException"/> that names the file.</remarks>
public static class ParquetShards
{
    // Snappy for the nested layout (schema 2), which Parquet.Net's serializer writes: its zstd at the default level was ~10x
    // slower to write tool traces with top-20 logprobs (about 25% smaller files); measured in the data branch's report. The
    // compact layout (schema 4) picks its own codec (CompactSchema.WriterOptions); reading takes any codec.
    private static readonly ParquetOptions Options = new() { CompressionMethod = CompressionMethod.Snappy };

    /// <summary>
    /// The column paths every shard must have (sample shards) or, with reject_reason, every reject shard. The optional per-message
    /// columns (<see cref="OptionalMessageFields"/>) are not among them: a file without them (schema version 1, a file written
    /// before provenance and tool-error flags, or another tool's export) reads as turns without them.
    /// </summary>
    public static IReadOnlyList<string> ExpectedColumns(bool rejects) =>
        (rejects ? RejectColumns : SampleColumns).Value;

    private static readonly Lazy<IReadOnlyList<string>> SampleColumns = new(() => RequiredColumnsOf(typeof(SampleRow)));
    private static readonly Lazy<IReadOnlyList<string>> RejectColumns = new(() => RequiredColumnsOf(typeof(RejectRow)));

    /// <summary>Fields of <c>messages[]</c> that a shard may lack.</summary>
    public static readonly IReadOnlySet<string> OptionalMessageFields = new HashSet<string>(StringComparer.Ordinal)
    {
        "logprobs", "logprobs_temperature", "logprobs_top_p", "logprobs_top_k", "logprobs_raw", "is_error",
    };

    private static IReadOnlyList<string> RequiredColumnsOf(Type t) =>
        t.GetParquetSchema(false).GetDataFields()
            .Where(f => !(f.Path.ToList().Contains("messages") && f.Path.ToList().Any(OptionalMessageFields.Contains)))
            .Select(f => f.Path.ToString()).ToArray();

    /// <summary>
    /// Writes rows to <paramref name="finalPath"/> atomically in the nested layout (schema version 2, Parquet.Net's object
    /// serializer): one row group per <paramref name="rowGroupRows"/> rows (only one row group in memory at a time).
    /// Returns the size and SHA-256 of the committed file.
    /// </summary>
    public static Task<(long Bytes, string Sha256)> WriteAtomicAsync<T>(
        string finalPath, IAsyncEnumerable<T> rows, int rowGroupRows, CancellationToken ct) where T : SampleRow =>
        WriteFileAtomicAsync(finalPath, async fs =>
        {
            bool any = false;
            var group = new List<T>(rowGroupRows);
            async Task WriteGroupAsync()
            {
                var options = new ParquetOptions { CompressionMethod = Options.CompressionMethod, Append = any };
                await ParquetSerializer.SerializeAsync(group, fs, options, null, ct).ConfigureAwait(false);
                any = true;
                group.Clear();
            }
            await foreach (var row in rows.WithCancellation(ct).ConfigureAwait(false))
            {
                group.Add(row);
                if (group.Count == rowGroupRows) await WriteGroupAsync().ConfigureAwait(false);
            }
            if (group.Count > 0 || !any) await WriteGroupAsync().ConfigureAwait(false);
        }, ct);

    /// <summary>
    /// Writes samples (with their reject reasons for a rejects shard, else null) to <paramref name="finalPath"/> atomically in
    /// <paramref name="format"/>. Returns the size and SHA-256 of the committed file.
    /// </summary>
    public static Task<(long Bytes, string Sha256)> WriteSamplesAtomicAsync(string finalPath, IReadOnlyList<Sample> samples,
        IReadOnlyList<string>? rejectReasons, int rowGroupRows, ShardFormat format, LogprobPrecision precision, CancellationToken ct)
    {
        if (format is ShardFormat.Compact or ShardFormat.CompactV3)
            return WriteFileAtomicAsync(finalPath, fs => new CompactShardWriter(rejectReasons is not null, precision,
                    format == ShardFormat.Compact ? CompactSchema.Version : CompactSchema.FirstVersion)
                .WriteAsync(fs, samples, rejectReasons, rowGroupRows, Options, ct), ct);
        return rejectReasons is null
            ? WriteAtomicAsync(finalPath, samples.Select(SampleRowMapper.ToRow).ToAsyncEnumerable(), rowGroupRows, ct)
            : WriteAtomicAsync(finalPath, samples.Select((s, i) => SampleRowMapper.ToRow(new RejectedSample(s, rejectReasons[i]))).ToAsyncEnumerable(), rowGroupRows, ct);
    }

    /// <summary>A temp file in the same folder, written by <paramref name="write"/>, fsync'd, then renamed into place.</summary>
    private static async Task<(long Bytes, string Sha256)> WriteFileAtomicAsync(string finalPath, Func<Stream, Task> write, CancellationToken ct)
    {
        string temp = finalPath + $".{Guid.NewGuid():N}.tmp";
        try
        {
            await using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16,
                FileOptions.Asynchronous))
            {
                await write(fs).ConfigureAwait(false);
                await fs.FlushAsync(ct).ConfigureAwait(false);
                fs.Flush(flushToDisk: true);
            }
            string sha = await Sha256Async(temp, ct).ConfigureAwait(false);
            long bytes = new FileInfo(temp).Length;
            File.Move(temp, finalPath, overwrite: true);
            return (bytes, sha);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    public static async Task<string> Sha256Async(string path, CancellationToken ct)
    {
        await using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
        var hash = await SHA256.HashDataAsync(fs, ct).ConfigureAwait(false);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>Opens a Parquet file and checks it has the expected columns; the caller disposes the reader.</summary>
    public static async Task<(FileStream Stream, ParquetReader Reader)> OpenAsync(string path, bool rejects, CancellationToken ct)
    {
        if (!File.Exists(path))
            throw new DistillException($"Parquet file '{path}' does not exist.",
                "Check the path; run `distill dataset validate` to list every problem in a dataset.");
        var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
        ParquetReader? reader = null;
        try
        {
            reader = await ParquetReader.CreateAsync(fs, Options, leaveStreamOpen: true, ct).ConfigureAwait(false);
            CheckSchema(path, reader.Schema, rejects);
            if (CompactSchema.LayoutVersionOf(reader) is { } version) CheckCompactSchema(path, reader.Schema, version);
            return (fs, reader);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            if (reader is not null) await reader.DisposeAsync().ConfigureAwait(false);
            await fs.DisposeAsync().ConfigureAwait(false);
            if (e is DistillException) throw;
            throw Corrupt(path, e);
        }
    }

    /// <summary>
    /// Streams a shard's samples one row group at a time (never the whole file in memory; compact shards hand each row group out
    /// in batches of a few rows), whatever its layout: compact
    /// (schema version 3), nested (version 2) or version 1's final-turn <c>teacher_logprobs</c>. The reject reason is null in a
    /// sample shard. Without <paramref name="withLogprobs"/> a compact shard's logprob columns are skipped (messages come back
    /// without logprobs); the older layouts nest logprobs in the messages, so they are read and then dropped.
    /// </summary>
    public static async IAsyncEnumerable<IReadOnlyList<(Sample Sample, string? RejectReason)>> ReadSamplesAsync(string path, bool rejects,
        [EnumeratorCancellation] CancellationToken ct, bool withLogprobs = true)
    {
        var (fs, reader) = await OpenAsync(path, rejects, ct).ConfigureAwait(false);
        await using (fs)
        {
            bool compact = CompactSchema.IsCompact(reader);
            if (compact)
            {
                await using (reader)
                await using (var serializerStream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous))
                {
                    var groups = CompactShardReader.ReadRowGroupsAsync(reader, serializerStream, rejects, Options, ct, withLogprobs).GetAsyncEnumerator(ct);
                    try
                    {
                        while (true)
                        {
                            IReadOnlyList<(Sample, string?)> rows;
                            try
                            {
                                if (!await groups.MoveNextAsync().ConfigureAwait(false)) break;
                                rows = groups.Current;
                            }
                            catch (Exception e) when (e is not OperationCanceledException and not DistillException)
                            {
                                throw Corrupt(path, e);
                            }
                            yield return rows;
                        }
                    }
                    finally
                    {
                        await groups.DisposeAsync().ConfigureAwait(false);
                    }
                }
                yield break;
            }
            await reader.DisposeAsync().ConfigureAwait(false);
        }
        if (rejects)
        {
            await foreach (var group in ReadRowGroupsAsync<RejectRow>(path, ct).ConfigureAwait(false))
                yield return group.Select(row => Map(path, row, r => (Logprobs(SampleRowMapper.ToSample(r), withLogprobs), (string?)r.RejectReason))).ToArray();
        }
        else
        {
            await foreach (var group in ReadRowGroupsAsync<SampleRow>(path, ct).ConfigureAwait(false))
                yield return group.Select(row => Map(path, row, r => (Logprobs(SampleRowMapper.ToSample(r), withLogprobs), (string?)null))).ToArray();
        }
    }

    /// <summary>The sample as read, or with its messages' logprobs dropped (so every layout answers a text-only read alike).</summary>
    private static Sample Logprobs(Sample sample, bool keep) =>
        keep || sample.Messages.All(m => m.Logprobs.Count == 0) ? sample
            : sample with { Messages = sample.Messages.Select(m => m.Logprobs.Count == 0 ? m : m with { Logprobs = [] }).ToArray() };

    private static TOut Map<TRow, TOut>(string path, TRow row, Func<TRow, TOut> map) where TRow : SampleRow
    {
        try
        {
            return map(row);
        }
        catch (Exception e) when (e is ArgumentException or NullReferenceException or InvalidOperationException)
        {
            throw new DistillException($"Parquet file '{path}' has an unreadable row (id '{row.Id}'): {e.Message}",
                "Run `distill dataset validate` to list every problem.", e);
        }
    }

    /// <summary>Streams a nested-layout file's rows one row group at a time (never the whole file in memory).</summary>
    private static async IAsyncEnumerable<IList<T>> ReadRowGroupsAsync<T>(string path, [EnumeratorCancellation] CancellationToken ct)
        where T : SampleRow, new()
    {
        bool rejects = typeof(T) == typeof(RejectRow);
        var (fs, reader) = await OpenAsync(path, rejects, ct).ConfigureAwait(false);
        await using (fs)
        {
            int groups = reader.RowGroupCount;
            bool finalTurnLogprobs = SchemaV1.HasFinalTurnLogprobs(reader.Schema);
            await reader.DisposeAsync().ConfigureAwait(false);
            for (int g = 0; g < groups; g++)
            {
                IList<T> rows;
                try
                {
                    fs.Position = 0;
                    rows = (await ParquetSerializer.DeserializeAsync<T>(fs, Options, g, ct).ConfigureAwait(false)).Data;
                    if (finalTurnLogprobs)
                    {
                        fs.Position = 0;
                        var legacy = await ParquetSerializer.DeserializeAsync<SchemaV1.FinalTurnLogprobsRow>(fs, Options, g, ct).ConfigureAwait(false);
                        SchemaV1.MoveToLastAssistantTurn(rows, legacy.Data);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    throw Corrupt(path, e, $" (row group {g})");
                }
                yield return rows;
            }
        }
    }

    /// <summary>
    /// The schema version of a shard's layout: 4 (compact, gap-coded alternatives, zstd), 3 (compact), 2 (nested, per-turn
    /// logprobs) or 1 (final-turn logprobs).
    /// </summary>
    public static async Task<int> LayoutVersionAsync(string path, bool rejects, CancellationToken ct)
    {
        var (fs, reader) = await OpenAsync(path, rejects, ct).ConfigureAwait(false);
        await using (fs)
        await using (reader)
            return CompactSchema.LayoutVersionOf(reader) ?? (SchemaV1.HasFinalTurnLogprobs(reader.Schema) ? 1 : 2);
    }

    /// <summary>Reads only the <c>id</c> column (cheap: used to load committed ids on resume).</summary>
    public static async Task<List<string>> ReadIdsAsync(string path, bool rejects, CancellationToken ct)
    {
        var (fs, reader) = await OpenAsync(path, rejects, ct).ConfigureAwait(false);
        await using (fs)
        await using (reader)
        {
            try
            {
                var field = reader.Schema.FindDataField("id");
                var ids = new List<string>();
                for (int g = 0; g < reader.RowGroupCount; g++)
                {
                    using var rg = reader.OpenRowGroupReader(g);
                    var buffer = new string?[rg.RowCount];
                    await rg.ReadAsync(field, buffer.AsMemory(), null, ct).ConfigureAwait(false);
                    ids.AddRange(buffer.Select(id => id ?? ""));
                }
                return ids;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw Corrupt(path, e);
            }
        }
    }

    /// <summary>Total rows according to the file footer.</summary>
    public static long RowCount(ParquetReader reader)
    {
        long rows = 0;
        for (int g = 0; g < reader.RowGroupCount; g++)
            rows += reader.RowGroups[g].RowCount;
        return rows;
    }

    private static void CheckSchema(string path, ParquetSchema schema, bool rejects)
    {
        var have = schema.GetDataFields().Select(f => f.Path.ToString()).ToHashSet();
        var missing = ExpectedColumns(rejects).Where(c => !have.Contains(c)).ToList();
        if (missing.Count > 0)
            throw new DistillException(
                $"Parquet file '{path}' is not a Distill {(rejects ? "rejects" : "dataset")} shard: it lacks column(s) " +
                $"{string.Join(", ", missing.Take(5).Select(m => $"'{m}'"))}{(missing.Count > 5 ? $" and {missing.Count - 5} more" : "")}.",
                $"Distill reads schema versions {DatasetSchema.OldestReadableVersion} to {DatasetSchema.Version}; export or convert the file with the same columns (see shared/design.md, \"The dataset row\").");
    }

    private static void CheckCompactSchema(string path, ParquetSchema schema, int version)
    {
        if (version > CompactSchema.Version)
            throw new DistillException(
                $"Parquet file '{path}' is a compact shard of schema version {version}; this Distill reads up to version {CompactSchema.Version}.",
                "Read it with the newer Distill that wrote it.");
        var missing = CompactSchema.LogprobColumns(version).Where(c => schema.Fields.FirstOrDefault(f => f.Name == c) is not ListField).ToList();
        if (missing.Count > 0)
            throw new DistillException(
                $"Parquet file '{path}' says it is a compact (schema version {version}) shard but lacks the list column(s) " +
                $"{string.Join(", ", missing.Select(m => $"'{m}'"))}.",
                "Restore the file from the writer's output, or run `distill dataset validate` to list every problem.");
    }

    internal static DistillException Corrupt(string path, Exception e, string where = "") =>
        new($"Parquet file '{path}'{where} is truncated, corrupt or not Parquet: {e.Message}",
            "Restore the file from the writer's output or remove it from the manifest; run `distill dataset validate` to list every problem.",
            e);

    internal static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
