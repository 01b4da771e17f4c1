using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Distill.Core.Errors;
using Distill.Core.Samples;
using Distill.Data.Curation;
using Distill.Data.Storage;

namespace Distill.Data;

public enum ExportFormat
{
    /// <summary>Hugging Face chat JSONL: one object per line with OpenAI-style <c>messages</c> and a parsed <c>tools</c> array.</summary>
    Jsonl,

    /// <summary>One merged Parquet file with the shard schema.</summary>
    Parquet,
}

public sealed record ExportOptions
{
    /// <summary>Include each assistant turn's <c>logprobs</c> in JSONL messages (large: top-k per token). Parquet always keeps them.</summary>
    public bool IncludeLogprobs { get; init; }

    /// <summary>Rows per row group in the merged Parquet file.</summary>
    public int RowGroupRows { get; init; } = 1024;

    /// <summary>
    /// Apply the dataset's curation decisions (<see cref="CuratedView"/>): curator-rejected rows dropped, edited rows replaced,
    /// rescued rejects added. Needs a dataset folder.
    /// </summary>
    public bool Curated { get; init; }
}

/// <summary>Rows written and the output file.</summary>
public sealed record ExportResult(string Path, ExportFormat Format, long Rows, long Bytes);

/// <summary>
/// <c>distill dataset export</c>: accepted samples to HF-style chat JSONL or to one merged Parquet file. Streams; the
/// output is written to a temp file and renamed, so a failed export never leaves a half file under the final name.
/// </summary>
/// <remarks>
/// JSONL line: <c>{"id","kind","messages":[{"role","content","reasoning_content"?,"tool_calls"?:[{"id","type":"function",
/// "function":{"name","arguments"}}],"tool_call_id"?,"name"?,"is_error"?,"logprobs"?:[{"token","token_id","logprob","top":[{"token",
/// "token_id","logprob"}]}],"logprobs_temperature"?,"logprobs_top_p"?,"logprobs_top_k"?,"logprobs_raw"?}],"tools":[...]|null,"answer","rationale", lineage ("template_id","template_version","recipe",
/// "teacher":{"provider","model","tokenizer_id"}|null,"params":{...}|null,"seed_input","created_at"), quality ("verified",
/// "verifier","score","prompt_tokens","completion_tokens","cost_usd","latency_ms","privileged_context_used") }</c>.
/// Optional message keys are omitted when empty (<c>logprobs</c> also unless asked for); <c>arguments</c> stays a JSON string,
/// as in the OpenAI API and HF chat templates.
/// </remarks>
public static class DatasetExporter
{
    public static ExportFormat ParseFormat(string format) => format.ToLowerInvariant() switch
    {
        "jsonl" => ExportFormat.Jsonl,
        "parquet" => ExportFormat.Parquet,
        _ => throw new DistillException($"Unknown export format '{format}'.", "Use --format jsonl or --format parquet."),
    };

    /// <summary>Exports the accepted samples of a dataset folder or loose .parquet file (curated when <see cref="ExportOptions.Curated"/>).</summary>
    public static Task<ExportResult> ExportAsync(string datasetPath, string outputPath, ExportFormat format,
        ExportOptions? options = null, CancellationToken ct = default) =>
        ExportAsync(options?.Curated == true ? CuratedView.ReadAsync(datasetPath, ct) : DatasetReader.ReadAnyAsync(datasetPath, ct),
            outputPath, format, options, ct);

    public static Task<ExportResult> ExportAsync(IAsyncEnumerable<Sample> samples, string outputPath, ExportFormat format,
        ExportOptions? options = null, CancellationToken ct = default) =>
        format == ExportFormat.Jsonl
            ? ExportJsonlAsync(samples, outputPath, options, ct)
            : ExportParquetAsync(samples, outputPath, options, ct);

    public static async Task<ExportResult> ExportJsonlAsync(IAsyncEnumerable<Sample> samples, string outputPath,
        ExportOptions? options = null, CancellationToken ct = default)
    {
        options ??= new ExportOptions();
        string full = PrepareOutput(outputPath);
        string temp = full + $".{Guid.NewGuid():N}.tmp";
        long rows = 0;
        try
        {
            await using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                var json = new Utf8JsonWriter(fs, new JsonWriterOptions { SkipValidation = false });
                await foreach (var s in samples.WithCancellation(ct).ConfigureAwait(false))
                {
                    WriteLine(json, s, options.IncludeLogprobs);
                    await json.FlushAsync(ct).ConfigureAwait(false);
                    json.Reset();
                    fs.WriteByte((byte)'\n');
                    rows++;
                }
                await json.DisposeAsync().ConfigureAwait(false);
                fs.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            ParquetShards.TryDelete(temp);
            throw;
        }
        return new ExportResult(full, ExportFormat.Jsonl, rows, new FileInfo(full).Length);
    }

    public static async Task<ExportResult> ExportParquetAsync(IAsyncEnumerable<Sample> samples, string outputPath,
        ExportOptions? options = null, CancellationToken ct = default)
    {
        options ??= new ExportOptions();
        string full = PrepareOutput(outputPath);
        long rows = 0;
        async IAsyncEnumerable<SampleRow> Rows([EnumeratorCancellation] CancellationToken token = default)
        {
            await foreach (var s in samples.WithCancellation(token).ConfigureAwait(false))
            {
                rows++;
                yield return SampleRowMapper.ToRow(s);
            }
        }
        var (bytes, _) = await ParquetShards.WriteAtomicAsync(full, Rows(ct), options.RowGroupRows, ct).ConfigureAwait(false);
        return new ExportResult(full, ExportFormat.Parquet, rows, bytes);
    }

    private static string PrepareOutput(string outputPath)
    {
        string full = Path.GetFullPath(outputPath);
        if (Directory.Exists(full))
            throw new DistillException($"Export output '{full}' is a folder.", "Give a file name, e.g. train.jsonl or train.parquet.");
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        return full;
    }

    private static void WriteLine(Utf8JsonWriter w, Sample s, bool logprobs)
    {
        w.WriteStartObject();
        w.WriteString("id", s.Id);
        w.WriteString("kind", s.Kind);
        w.WriteStartArray("messages");
        foreach (var m in s.Messages)
        {
            w.WriteStartObject();
            w.WriteString("role", m.Role);
            w.WriteString("content", m.Content);
            if (m.Reasoning is not null) w.WriteString("reasoning_content", m.Reasoning);
            if (m.ToolCalls.Count > 0)
            {
                w.WriteStartArray("tool_calls");
                foreach (var c in m.ToolCalls)
                {
                    w.WriteStartObject();
                    w.WriteString("id", c.Id);
                    w.WriteString("type", "function");
                    w.WriteStartObject("function");
                    w.WriteString("name", c.Name);
                    w.WriteString("arguments", c.Arguments);
                    w.WriteEndObject();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            if (m.ToolCallId is not null) w.WriteString("tool_call_id", m.ToolCallId);
            if (m.Name is not null) w.WriteString("name", m.Name);
            if (m.IsError) w.WriteBoolean("is_error", true);
            if (logprobs && m.Logprobs.Count > 0)
            {
                WriteLogprobs(w, m.Logprobs);
                if (m.LogprobProvenance is { } p)
                {
                    if (p.Temperature is { } t) Number(w, "logprobs_temperature", t);
                    if (p.TopP is { } topP) Number(w, "logprobs_top_p", topP);
                    w.WriteNumber("logprobs_top_k", p.TopK);
                    if (p.Raw is { } raw) w.WriteBoolean("logprobs_raw", raw);
                }
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();

        w.WritePropertyName("tools");
        if (s.Tools is null) w.WriteNullValue();
        else
        {
            try
            {
                using var doc = JsonDocument.Parse(s.Tools);
                doc.RootElement.WriteTo(w);
            }
            catch (JsonException e)
            {
                throw new DistillException($"Sample '{s.Id}' has a 'tools' value that is not valid JSON: {e.Message}",
                    "Run `distill dataset validate` to list every problem, and fix or drop the sample.", e);
            }
        }
        w.WriteString("answer", s.Answer);
        w.WriteString("rationale", s.Rationale);

        w.WriteString("template_id", s.TemplateId);
        w.WriteString("template_version", s.TemplateVersion);
        w.WriteString("recipe", s.Recipe);
        w.WritePropertyName("teacher");
        if (s.Teacher is null) w.WriteNullValue();
        else
        {
            w.WriteStartObject();
            w.WriteString("provider", s.Teacher.Provider);
            w.WriteString("model", s.Teacher.Model);
            w.WriteString("tokenizer_id", s.Teacher.TokenizerId);
            w.WriteEndObject();
        }
        w.WritePropertyName("params");
        if (s.Params is null) w.WriteNullValue();
        else
        {
            w.WriteStartObject();
            Number(w, "temperature", s.Params.Temperature);
            Number(w, "top_p", s.Params.TopP);
            if (s.Params.Seed is { } seed) w.WriteNumber("seed", seed); else w.WriteNull("seed");
            if (s.Params.MaxTokens is { } max) w.WriteNumber("max_tokens", max); else w.WriteNull("max_tokens");
            w.WriteEndObject();
        }
        w.WriteString("seed_input", s.SeedInput);
        w.WriteString("created_at", s.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture));

        if (s.Verified is { } verified) w.WriteBoolean("verified", verified); else w.WriteNull("verified");
        w.WriteString("verifier", s.Verifier);
        Number(w, "score", s.Score);
        w.WriteNumber("prompt_tokens", s.PromptTokens);
        w.WriteNumber("completion_tokens", s.CompletionTokens);
        Number(w, "cost_usd", s.CostUsd);
        Number(w, "latency_ms", s.LatencyMs);
        w.WriteBoolean("privileged_context_used", s.PrivilegedContextUsed);
        w.WriteEndObject();
    }

    private static void WriteLogprobs(Utf8JsonWriter w, IReadOnlyList<TokenLogprob> logprobs)
    {
        w.WriteStartArray("logprobs");
        foreach (var t in logprobs)
        {
            w.WriteStartObject();
            w.WriteString("token", t.Token);
            if (t.TokenId is { } id) w.WriteNumber("token_id", id); else w.WriteNull("token_id");
            Number(w, "logprob", t.Logprob);
            w.WriteStartArray("top");
            foreach (var x in t.Top)
            {
                w.WriteStartObject();
                w.WriteString("token", x.Token);
                if (x.TokenId is { } xid) w.WriteNumber("token_id", xid); else w.WriteNull("token_id");
                Number(w, "logprob", x.Logprob);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>JSON has no NaN or infinity (a -inf logprob is possible): those are written as null.</summary>
    private static void Number(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v && double.IsFinite(v)) w.WriteNumber(name, v);
        else w.WriteNull(name);
    }
}
