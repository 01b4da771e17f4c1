using System.Text.Json;
using Distill.Core.Errors;
using Distill.Core.Samples;
using Distill.Data.Storage;

namespace Distill.Data;

public enum ProblemSeverity
{
    /// <summary>The dataset is not usable as is.</summary>
    Error,

    /// <summary>Worth a look, harmless to readers (e.g. an orphan file the manifest does not list).</summary>
    Warning,
}

/// <summary>One problem found by <see cref="DatasetValidator"/>.</summary>
/// <param name="File">The file concerned (full path).</param>
/// <param name="SampleId">The sample concerned, for row-level problems.</param>
public sealed record ValidationProblem(ProblemSeverity Severity, string File, string Message, string? SampleId = null);

/// <summary>Everything <see cref="DatasetValidator"/> found.</summary>
public sealed record ValidationReport(string Path, IReadOnlyList<ValidationProblem> Problems, int FilesChecked, long RowsChecked)
{
    public bool IsValid => Problems.All(p => p.Severity != ProblemSeverity.Error);
    public int ErrorCount => Problems.Count(p => p.Severity == ProblemSeverity.Error);
    public int WarningCount => Problems.Count(p => p.Severity == ProblemSeverity.Warning);
}

/// <summary>
/// Checks a dataset folder and reports every problem instead of stopping at the first: manifest readable, each listed
/// file present with the recorded size, SHA-256 and row count, readable Parquet with the expected columns, ids unique
/// across shards, and per row: known kind, known roles, tool-call arguments that parse as JSON, tool-result turns that
/// answer an earlier tool call, teacher logprobs only on assistant turns and each one a log-probability (not NaN, not above 0).
/// Files on disk that the manifest does not list are warnings.
/// </summary>
public static class DatasetValidator
{
    /// <summary>Row-level problems reported per file before the rest are summarized in one line.</summary>
    public const int MaxRowProblemsPerFile = 50;

    public static async Task<ValidationReport> ValidateAsync(string datasetDir, CancellationToken ct = default)
    {
        string dir = Path.GetFullPath(datasetDir);
        var problems = new List<ValidationProblem>();
        DatasetManifest manifest;
        try
        {
            manifest = DatasetManifest.Load(dir);
        }
        catch (DistillException e)
        {
            problems.Add(new(ProblemSeverity.Error, Path.Combine(dir, DatasetSchema.ManifestFile), e.Message));
            return new ValidationReport(dir, problems, 0, 0);
        }

        var seen = new Dictionary<string, string>(StringComparer.Ordinal); // accepted id -> file
        var seenRejects = new Dictionary<string, string>(StringComparer.Ordinal);
        int files = 0;
        long rows = 0;
        foreach (var (entry, rejects) in manifest.Shards.Select(s => (s, false)).Concat(manifest.Rejects.Select(s => (s, true))))
        {
            ct.ThrowIfCancellationRequested();
            files++;
            rows += await CheckFileAsync(dir, entry, rejects, rejects ? seenRejects : seen, problems, ct).ConfigureAwait(false);
        }

        var listed = manifest.Shards.Concat(manifest.Rejects).Select(s => s.File).ToHashSet(StringComparer.Ordinal);
        foreach (string folder in new[] { DatasetSchema.ShardsFolder, DatasetSchema.RejectsFolder })
        {
            string full = Path.Combine(dir, folder);
            if (!Directory.Exists(full)) continue;
            foreach (string path in Directory.EnumerateFiles(full))
            {
                string name = Path.GetFileName(path);
                if (name.StartsWith('.') || listed.Contains($"{folder}/{name}")) continue;
                problems.Add(new(ProblemSeverity.Warning, path,
                    "File is not listed in the manifest (left by an interrupted writer or copied in): readers ignore it; the next writer with its worker tag deletes it."));
            }
        }
        return new ValidationReport(dir, problems, files, rows);
    }

    /// <summary>Row-level checks of one sample (also usable by a generator before it appends).</summary>
    public static IEnumerable<string> CheckSample(Sample sample)
    {
        if (string.IsNullOrEmpty(sample.Id)) yield return "sample has an empty id";
        if (!SampleKinds.IsKnown(sample.Kind))
            yield return $"unknown kind '{sample.Kind}' (expected one of {string.Join(", ", SampleKinds.All)})";
        if (sample.Messages.Count == 0) yield return "sample has no messages";
        var callIds = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < sample.Messages.Count; i++)
        {
            var m = sample.Messages[i];
            if (!ChatRoles.IsKnown(m.Role)) yield return $"message {i}: unknown role '{m.Role}'";
            foreach (var call in m.ToolCalls)
            {
                if (!IsJson(call.Arguments))
                    yield return $"message {i}: tool call '{call.Id}' ({call.Name}) has arguments that are not valid JSON: {Clip(call.Arguments)}";
                if (!callIds.Add(call.Id)) yield return $"message {i}: tool call id '{call.Id}' is used twice";
            }
            if (m.Logprobs.Count > 0 && m.Role != ChatRoles.Assistant)
                yield return $"message {i}: a {m.Role} turn has teacher logprobs (only assistant turns are generated by the teacher)";
            if (FirstBadLogprob(m.Logprobs) is { } bad) yield return $"message {i}: {bad}";
            if (m.Role == ChatRoles.Tool)
            {
                if (string.IsNullOrEmpty(m.ToolCallId)) yield return $"message {i}: tool result without a tool_call_id";
                else if (!callIds.Contains(m.ToolCallId))
                    yield return $"message {i}: tool result refers to tool call '{m.ToolCallId}', which no earlier assistant turn made";
            }
        }
        if (sample.Tools is { } tools && !IsJson(tools)) yield return $"tools is not valid JSON: {Clip(tools)}";
    }

    private static async Task<long> CheckFileAsync(string dir, ShardEntry entry, bool rejects, Dictionary<string, string> seen,
        List<ValidationProblem> problems, CancellationToken ct)
    {
        string path = DatasetWriter.Resolve(dir, entry.File);
        void Error(string message, string? id = null) => problems.Add(new(ProblemSeverity.Error, path, message, id));

        if (!File.Exists(path))
        {
            Error("File named by the manifest is missing.");
            return 0;
        }
        long size = new FileInfo(path).Length;
        if (size != entry.Bytes) Error($"File is {size} bytes; the manifest recorded {entry.Bytes} (truncated or replaced).");
        string sha = await ParquetShards.Sha256Async(path, ct).ConfigureAwait(false);
        if (!string.Equals(sha, entry.Sha256, StringComparison.OrdinalIgnoreCase))
            Error($"SHA-256 is {sha}; the manifest recorded {entry.Sha256} (the file changed after it was committed).");

        long footerRows;
        try
        {
            var (fs, reader) = await ParquetShards.OpenAsync(path, rejects, ct).ConfigureAwait(false);
            await using (fs)
            await using (reader)
                footerRows = ParquetShards.RowCount(reader);
        }
        catch (DistillException e)
        {
            Error(e.Message);
            return 0;
        }
        if (footerRows != entry.Rows) Error($"File holds {footerRows} rows; the manifest recorded {entry.Rows}.");

        long read = 0;
        int rowProblems = 0;
        try
        {
            var samples = rejects
                ? DatasetReader.ReadRejectsFileAsync(path, ct).Select(r => (r.Sample, (string?)r.RejectReason))
                : DatasetReader.ReadFileAsync(path, ct).Select(s => (s, (string?)null));
            await foreach (var (sample, reason) in samples.ConfigureAwait(false))
            {
                read++;
                var rowMessages = CheckSample(sample).ToList();
                if (rejects && string.IsNullOrWhiteSpace(reason)) rowMessages.Add("rejected sample has no reject_reason");
                if (!seen.TryAdd(sample.Id, entry.File))
                    rowMessages.Add(seen[sample.Id] == entry.File
                        ? $"duplicate id '{sample.Id}' (twice in this file)"
                        : $"duplicate id '{sample.Id}' (also in {seen[sample.Id]})");
                foreach (string message in rowMessages)
                    if (++rowProblems <= MaxRowProblemsPerFile)
                        Error($"row {read - 1}: {message}", sample.Id);
            }
        }
        catch (DistillException e)
        {
            Error(e.Message);
        }
        if (rowProblems > MaxRowProblemsPerFile)
            Error($"... and {rowProblems - MaxRowProblemsPerFile} more row problems in this file.");
        return read;
    }

    /// <summary>
    /// Float rounding can put a near-certain token's log-probability a hair above 0; anything further above is not a
    /// log-probability (e.g. a raw logit or a probability stored by mistake).
    /// </summary>
    public const double LogprobTolerance = 1e-4;

    /// <summary>The first entry of a turn's logprobs that is not a log-probability, described; null when all are.</summary>
    private static string? FirstBadLogprob(IReadOnlyList<TokenLogprob> logprobs)
    {
        static bool Bad(double v) => double.IsNaN(v) || v > LogprobTolerance;
        for (int j = 0; j < logprobs.Count; j++)
        {
            var t = logprobs[j];
            if (Bad(t.Logprob))
                return $"logprobs[{j}] (token {Clip(t.Token)}) has logprob {t.Logprob.ToString(System.Globalization.CultureInfo.InvariantCulture)}, not a log-probability (<= 0)";
            foreach (var alt in t.Top)
                if (Bad(alt.Logprob))
                    return $"logprobs[{j}].top (token {Clip(alt.Token)}) has logprob {alt.Logprob.ToString(System.Globalization.CultureInfo.InvariantCulture)}, not a log-probability (<= 0)";
        }
        return null;
    }

    private static bool IsJson(string text)
    {
        try
        {
            using var _ = JsonDocument.Parse(text);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string Clip(string s) => s.Length <= 80 ? s : s[..77] + "...";
}
