using System.Text.Json;
using Distill.Core.Errors;
using Distill.Generation.Recipes;
using Distill.Generation.Domains;
using Parquet;

namespace Distill.Generation.Runner;

/// <summary>
/// Where seed inputs come from: <c>&lt;domain&gt;:&lt;split&gt;[:&lt;filter&gt;]</c> for a plugged-in domain's tasks with
/// ground truth (<c>world:train</c>, <c>world:heldout:T1</c>), a JSONL file or a Parquet file of rows <c>{"id"?, "input" or "question", "expected_answer"?, "expected_tool_calls"?}</c>;
/// a JSONL row may also carry <c>"tags": {"name": "value"}</c> (what <c>--routing</c> with <c>tag:NAME</c> routes by) and
/// <c>"expected_facts": ["..."]</c>, statements the final answer of a tool trace must make (<see cref="FactMatcher"/>).
/// Every problem is a <see cref="DistillException"/> naming the file and line, raised before any teacher call.
/// </summary>
public static class TaskSources
{
    public static async Task<IReadOnlyList<SeedTask>> LoadAsync(string spec, int? count, IReadOnlyList<ITaskDomain> domains, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(domains);
        var parts = spec.Split(':');
        if (parts.Length is 2 or 3 && domains.FirstOrDefault(d => d.Name == parts[0]) is { } domain)
        {
            var split = parts[1];
            if (!domain.Splits.Contains(split, StringComparer.Ordinal))
                throw new DistillException($"unknown {domain.Name} split '{split}' in --tasks {spec}",
                    $"use one of {string.Join(", ", domain.Splits.Select(s => $"{domain.Name}:{s}"))}");
            var domainTasks = domain.Tasks(split, count ?? 100, parts.Length == 3 ? parts[2] : null);
            if (domainTasks.Count == 0) throw new DistillException($"--tasks {spec} selects no tasks", "check the filter after the split");
            return domainTasks;
        }
        if (!File.Exists(spec))
            throw new DistillException($"task file '{spec}' does not exist", "pass --tasks world:train, a .jsonl file or a .parquet file");
        IReadOnlyList<SeedTask> tasks = Path.GetExtension(spec).ToLowerInvariant() switch
        {
            ".jsonl" or ".json" => await ReadJsonLinesAsync(spec, ct).ConfigureAwait(false),
            ".parquet" => await ReadParquetAsync(spec, ct).ConfigureAwait(false),
            _ => throw new DistillException($"task file '{spec}' is neither .jsonl nor .parquet", "convert it to JSONL (one JSON object per line)"),
        };
        if (tasks.Count == 0) throw new DistillException($"task file '{spec}' holds no tasks", "add at least one row with an \"input\" field");
        return count is { } n ? tasks.Take(n).ToList() : tasks;
    }

    private static async Task<IReadOnlyList<SeedTask>> ReadJsonLinesAsync(string path, CancellationToken ct)
    {
        var tasks = new List<SeedTask>();
        var lineNo = 0;
        foreach (var line in await File.ReadAllLinesAsync(path, ct).ConfigureAwait(false))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new JsonException("not a JSON object");
                var row = doc.RootElement;
                tasks.Add(Task(path, lineNo, tasks.Count, Str(row, "id"), Str(row, "input") ?? Str(row, "question"), Str(row, "expected_answer"),
                    row.TryGetProperty("expected_tool_calls", out var calls) ? calls.GetRawText() : null, Tags(path, lineNo, row), Facts(path, lineNo, row)));
            }
            catch (JsonException e)
            {
                throw new DistillException($"{path}:{lineNo}: not valid JSON ({e.Message.Split('.')[0]})", "write one JSON object per line");
            }
        }
        return tasks;
    }

    private static async Task<IReadOnlyList<SeedTask>> ReadParquetAsync(string path, CancellationToken ct)
    {
        try
        {
            await using var stream = File.OpenRead(path);
            await using var reader = await ParquetReader.CreateAsync(stream, cancellationToken: ct).ConfigureAwait(false);
            var fields = reader.Schema.GetDataFields();
            var tasks = new List<SeedTask>();
            for (var g = 0; g < reader.RowGroupCount; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                var columns = new Dictionary<string, string?[]>(StringComparer.Ordinal);
                foreach (var field in fields.Where(f => f.Name is "id" or "input" or "question" or "expected_answer" or "expected_tool_calls"))
                {
                    if (field.ClrType != typeof(string) && field.ClrType != typeof(ReadOnlyMemory<char>))
                        throw new DistillException($"{path}: column '{field.Name}' must be a string column, not {field.ClrType.Name}", "write the task columns as strings");
                    var buffer = new string?[group.RowCount];
                    await group.ReadAsync(field, buffer.AsMemory(), null, ct).ConfigureAwait(false);
                    columns[field.Name] = buffer;
                }
                string? Cell(string name, long i) => columns.TryGetValue(name, out var a) ? a[i] : null;
                for (long i = 0; i < group.RowCount; i++)
                {
                    tasks.Add(Task(path, tasks.Count + 1, tasks.Count, Cell("id", i), Cell("input", i) ?? Cell("question", i), Cell("expected_answer", i), Cell("expected_tool_calls", i)));
                }
            }
            return tasks;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or ArgumentException)
        {
            throw new DistillException($"cannot read task file '{path}' as Parquet: {e.Message}", "check the file, or use JSONL");
        }
    }

    private static IReadOnlyDictionary<string, string>? Tags(string path, int line, JsonElement row)
    {
        if (!row.TryGetProperty("tags", out var tags) || tags.ValueKind == JsonValueKind.Null) return null;
        if (tags.ValueKind != JsonValueKind.Object)
            throw new DistillException($"{path}:{line}: \"tags\" must be an object of name: value pairs", "write e.g. \"tags\": {\"difficulty\": \"hard\"}");
        return tags.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText(), StringComparer.Ordinal);
    }

    private static IReadOnlyList<string>? Facts(string path, int line, JsonElement row)
    {
        if (!row.TryGetProperty("expected_facts", out var facts) || facts.ValueKind == JsonValueKind.Null) return null;
        if (facts.ValueKind != JsonValueKind.Array || facts.EnumerateArray().Any(f => f.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(f.GetString())))
            throw new DistillException($"{path}:{line}: \"expected_facts\" must be a list of non-empty strings", "write e.g. \"expected_facts\": [\"available\", \"2026-12-10\"]");
        return facts.EnumerateArray().Select(f => f.GetString()!).ToList();
    }

    private static SeedTask Task(string path, int line, int index, string? id, string? input, string? expected, string? callsJson,
        IReadOnlyDictionary<string, string>? tags = null, IReadOnlyList<string>? facts = null)
    {
        if (string.IsNullOrWhiteSpace(input))
            throw new DistillException($"{path}:{line}: the row has no \"input\" (or \"question\") text", "give every row an \"input\" string");
        IReadOnlyList<ExpectedToolCall>? calls = null;
        if (!string.IsNullOrWhiteSpace(callsJson))
        {
            try
            {
                using var doc = JsonDocument.Parse(callsJson);
                calls = doc.RootElement.EnumerateArray().Select(c => new ExpectedToolCall(
                    c.GetProperty("name").GetString()!,
                    c.TryGetProperty("arguments", out var a) && a.ValueKind == JsonValueKind.Object
                        ? a.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText())
                        : new Dictionary<string, string>())).ToList();
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException)
            {
                throw new DistillException($"{path}:{line}: \"expected_tool_calls\" must be a list of {{\"name\", \"arguments\"}} objects", "fix the row");
            }
        }
        return new SeedTask(id ?? $"task-{index:D6}", input, expected, calls, facts, tags);
    }

    private static string? Str(JsonElement row, string name) =>
        row.TryGetProperty(name, out var v) ? v.ValueKind switch { JsonValueKind.String => v.GetString(), JsonValueKind.Null => null, _ => v.GetRawText() } : null;
}
