using System.Collections.Concurrent;
using System.Text;
using Distill.Core.Errors;

namespace Distill.Data.Curation;

/// <summary>
/// <c>curation.jsonl</c> beside a dataset's manifest: curator decisions, one JSON line each, appended and never rewritten, so the
/// generated shards stay exactly as the manifest's checksums say. The last decision per sample id counts.
/// </summary>
/// <remarks>
/// A decision counts once its whole line, newline included, is on disk (written in one call and flushed). A crash mid-write leaves
/// an unterminated last line: readers skip it, and the next append cuts it off before writing, so a torn write is lost as a
/// whole and never merges with the next one. Appends hold an exclusive lock on the file (other processes wait and retry) and
/// can carry the revision the caller saw, so two tabs deciding on the same sample cannot overwrite each other unseen.
/// A line that is complete but not a decision (a hand edit gone wrong) stops every reader with its line number, and nothing is
/// changed until it is fixed.
/// </remarks>
public static class CurationLog
{
    public const string FileName = "curation.jsonl";

    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Gates = new(StringComparer.Ordinal);
    private static readonly TimeSpan LockWait = TimeSpan.FromSeconds(10);

    public static string PathFor(string datasetDir) => Path.Combine(Path.GetFullPath(datasetDir), FileName);

    /// <summary>The decisions of a dataset folder; empty when it has no curation file.</summary>
    public static CurationState Load(string datasetDir)
    {
        var path = PathFor(datasetDir);
        if (!File.Exists(path)) return CurationState.Empty;
        using var stream = OpenWithRetry(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        var bytes = ReadAll(stream);
        return Parse(bytes.AsSpan(0, CompleteLength(bytes)), path);
    }

    /// <summary>
    /// Appends <paramref name="decision"/> and returns the sample's new revision. With <paramref name="expectedRevision"/>, throws
    /// <see cref="CurationConflictException"/> when the sample's revision is no longer that one.
    /// </summary>
    public static async Task<int> AppendAsync(string datasetDir, CurationDecision decision, int? expectedRevision = null, CancellationToken ct = default)
    {
        decision.EnsureValid();
        var dir = Path.GetFullPath(datasetDir);
        if (!File.Exists(Path.Combine(dir, DatasetSchema.ManifestFile)))
            throw new DistillException($"'{dir}' is not a dataset folder (no {DatasetSchema.ManifestFile}).", "Curate samples of a dataset folder written by `distill generate`.");
        var path = PathFor(dir);
        var line = Encoding.UTF8.GetBytes(CurationLine.Serialize(decision) + "\n");
        var gate = Gates.GetOrAdd(path, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await using var stream = OpenWithRetry(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            var bytes = ReadAll(stream);
            var complete = CompleteLength(bytes);
            var state = Parse(bytes.AsSpan(0, complete), path);
            var current = state.RevisionOf(decision.SampleId);
            if (expectedRevision is { } expected && expected != current)
                throw new CurationConflictException(decision.SampleId, expected, current);
            if (complete < bytes.Length) stream.SetLength(complete);
            stream.Position = complete;
            await stream.WriteAsync(line, ct).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
            return current + 1;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Decisions from the complete lines of a curation file (everything up to and including its last newline).</summary>
    internal static CurationState Parse(ReadOnlySpan<byte> complete, string path)
    {
        var decisions = new List<CurationDecision>();
        var lineNumber = 0;
        foreach (var raw in Encoding.UTF8.GetString(complete).Split('\n'))
        {
            lineNumber++;
            var line = raw.TrimEnd('\r');
            if (string.IsNullOrWhiteSpace(line)) continue;
            var (decision, problem) = CurationLine.Parse(line);
            if (decision is null)
                throw new DistillException($"Line {lineNumber} of '{path}' is not a curation decision: {problem}.",
                    "Fix or delete that line (one JSON decision per line, see docs/curation.md); the dataset's shards are untouched.");
            decisions.Add(decision);
        }
        return CurationState.FromDecisions(decisions);
    }

    /// <summary>Bytes up to and including the last newline: what is left after is a write that never finished.</summary>
    internal static int CompleteLength(ReadOnlySpan<byte> bytes) => bytes.LastIndexOf((byte)'\n') + 1;

    private static byte[] ReadAll(FileStream stream)
    {
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>Opens the file, waiting while another process holds it (a writer holds it exclusively for one append).</summary>
    private static FileStream OpenWithRetry(string path, FileMode mode, FileAccess access, FileShare share)
    {
        var deadline = DateTime.UtcNow + LockWait;
        while (true)
        {
            try
            {
                return new FileStream(path, mode, access, share);
            }
            catch (IOException) when (DateTime.UtcNow < deadline && File.Exists(path))
            {
                Thread.Sleep(20);
            }
        }
    }
}
