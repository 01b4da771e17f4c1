using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Distill.Bench;

/// <summary>
/// The OpenAI Files and Batch REST APIs on 127.0.0.1 for `bench generate --batch` (copy-adapted from the tests'
/// FakeBatchApi, which keeps its error-path variants): upload (multipart), create, status reads (<c>validating</c>, then
/// <c>in_progress</c> until the batch's simulated processing time has passed, then <c>completed</c>), file download. A batch
/// takes <see cref="LineTime"/> per line, as a provider's queue would; on the first submission of each custom_id a fixed,
/// hash-chosen 5% of lines answer HTTP 500 and 2% come back as <c>batch_expired</c>, so the client must re-queue them.
/// <see cref="ProcessingSeconds"/> is the wall time during which at least one batch was processing (the fake's own time).
/// </summary>
public sealed class BenchBatchApi : IAsyncDisposable
{
    public const string Key = "sk-bench-batch";
    private readonly WebApplication _app;
    private readonly Func<JsonElement, string> _reply;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, string> _files = [];
    private readonly Dictionary<string, Batch> _batches = [];
    private readonly HashSet<string> _seen = [];
    private readonly List<(long Start, long End)> _busy = [];
    private int _next;

    private BenchBatchApi(WebApplication app, Func<JsonElement, string> reply, TimeSpan lineTime)
    {
        _app = app;
        _reply = reply;
        LineTime = lineTime;
    }

    /// <summary>Starts the fake; <paramref name="reply"/> gives the assistant text for a request body.</summary>
    public static async Task<BenchBatchApi> StartAsync(Func<JsonElement, string> reply, TimeSpan lineTime)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0);
            k.Limits.MaxRequestBodySize = null; // uploads of tens of MB
        });
        var app = builder.Build();
        var api = new BenchBatchApi(app, reply, lineTime);
        app.Run(api.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        api.Endpoint = new Uri(new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal)), "/v1").ToString();
        return api;
    }

    /// <summary>The teacher's Endpoint (base URL with <c>/v1</c>).</summary>
    public string Endpoint { get; private set; } = null!;

    /// <summary>Simulated provider time per request line.</summary>
    public TimeSpan LineTime { get; }

    /// <summary>Lines answered HTTP 500 and lines expired (first submissions only).</summary>
    public int InjectedFailed { get; private set; }
    public int InjectedExpired { get; private set; }

    /// <summary>Lines received, re-submissions included.</summary>
    public int LinesReceived { get; private set; }

    /// <summary>Seconds during which at least one batch was processing (from its creation until its output files were written).</summary>
    public double ProcessingSeconds
    {
        get
        {
            lock (_lock) return BusySeconds(_busy.Select(b => (b.Start, b.End)));
        }
    }

    /// <summary>Stopwatch timestamps of the first batch's creation and of the last batch's completion (0 before any).</summary>
    public long FirstCreatedAt { get; private set; }
    public long LastFinishedAt { get; private set; }

    /// <summary>Length of the union of the intervals, in seconds (overlapping batches count once).</summary>
    internal static double BusySeconds(IEnumerable<(long Start, long End)> intervals)
    {
        long total = 0, coveredTo = long.MinValue;
        foreach (var (start, end) in intervals.OrderBy(i => i.Start))
        {
            var from = Math.Max(start, coveredTo);
            if (end > from) total += end - from;
            coveredTo = Math.Max(coveredTo, end);
        }
        return total / (double)Stopwatch.Frequency;
    }

    /// <summary>First submissions: 5% fail (HTTP 500), 2% expire, chosen by a stable hash of the custom_id.</summary>
    internal static string FirstOutcome(string customId)
    {
        var bucket = (int)(Fnv1a(customId) % 100);
        return bucket < 5 ? "failed" : bucket < 7 ? "expired" : "ok";
    }

    private static uint Fnv1a(string text)
    {
        var hash = 2166136261u;
        foreach (var c in text) hash = (hash ^ c) * 16777619u;
        return hash;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        var request = ctx.Request;
        var path = request.Path.Value ?? "";
        if (!path.StartsWith("/v1/", StringComparison.Ordinal) || request.Headers.Authorization.ToString() != $"Bearer {Key}")
        {
            await WriteAsync(ctx, 404, Error("not_found", $"no route {request.Method} {path}"));
            return;
        }
        switch (request.Method, path[4..].Split('/'))
        {
            case ("POST", ["files"]):
                var form = await request.ReadFormAsync(ctx.RequestAborted);
                string text;
                using (var reader = new StreamReader(form.Files["file"]!.OpenReadStream())) text = await reader.ReadToEndAsync(ctx.RequestAborted);
                JsonObject file;
                lock (_lock)
                {
                    var id = $"file-{++_next}";
                    _files[id] = text;
                    file = new JsonObject { ["id"] = id, ["object"] = "file", ["purpose"] = form["purpose"].ToString(), ["bytes"] = Encoding.UTF8.GetByteCount(text) };
                }
                await WriteAsync(ctx, 200, file);
                return;
            case ("GET", ["files", var fileId, "content"]):
                string content;
                lock (_lock) content = _files[fileId];
                ctx.Response.ContentType = "application/octet-stream";
                await ctx.Response.WriteAsync(content, ctx.RequestAborted);
                return;
            case ("POST", ["batches"]):
                var body = (await JsonNode.ParseAsync(request.Body, cancellationToken: ctx.RequestAborted))!;
                Batch batch;
                lock (_lock)
                {
                    var input = body["input_file_id"]!.GetValue<string>();
                    var lines = _files[input].Count(c => c == '\n');
                    batch = new Batch($"batch_{++_next}", input, body["endpoint"]!.GetValue<string>(), Stopwatch.GetTimestamp(),
                        Stopwatch.GetTimestamp() + (long)(LineTime.TotalSeconds * lines * Stopwatch.Frequency));
                    _batches[batch.Id] = batch;
                    if (FirstCreatedAt == 0) FirstCreatedAt = batch.CreatedAt;
                }
                await WriteAsync(ctx, 200, batch.ToJson());
                return;
            case ("GET", ["batches", var batchId]):
                JsonObject state;
                lock (_lock)
                {
                    var b = _batches[batchId];
                    Advance(b);
                    state = b.ToJson();
                }
                await WriteAsync(ctx, 200, state);
                return;
            case ("POST", ["batches", var cancelId, "cancel"]):
                JsonObject cancelled;
                lock (_lock)
                {
                    var b = _batches[cancelId];
                    if (b.Status is not "completed") b.Status = "cancelled";
                    cancelled = b.ToJson();
                }
                await WriteAsync(ctx, 200, cancelled);
                return;
            default:
                await WriteAsync(ctx, 404, Error("not_found", $"no route {request.Method} {path}"));
                return;
        }
    }

    private void Advance(Batch b)
    {
        if (b.Status == "validating") b.Status = "in_progress";
        else if (b.Status == "in_progress" && Stopwatch.GetTimestamp() >= b.DueAt) Finish(b);
    }

    private void Finish(Batch b)
    {
        var output = new StringBuilder();
        var errors = new StringBuilder();
        foreach (var text in _files[b.InputFileId].Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var doc = JsonDocument.Parse(text);
            var customId = doc.RootElement.GetProperty("custom_id").GetString()!;
            if (doc.RootElement.GetProperty("url").GetString() != b.Endpoint) throw new InvalidOperationException("a line's url differs from the batch's endpoint");
            LinesReceived++;
            var outcome = _seen.Add(customId) ? FirstOutcome(customId) : "ok";
            var body = doc.RootElement.GetProperty("body");
            var line = outcome switch
            {
                "ok" => Line(customId, 200, Completion(body, _reply(body)), null),
                "failed" => Line(customId, 500, Error("server_error", "The server had an error processing your request."), null),
                _ => Line(customId, null, null, ErrorObject("batch_expired", "This request could not be executed before the completion window expired.")),
            };
            if (outcome == "failed") InjectedFailed++;
            if (outcome == "expired") InjectedExpired++;
            (outcome == "ok" ? output : errors).Append(line.ToJsonString()).Append('\n');
        }
        b.Status = "completed";
        if (output.Length > 0) _files[b.OutputFileId = $"file-{++_next}"] = output.ToString();
        if (errors.Length > 0) _files[b.ErrorFileId = $"file-{++_next}"] = errors.ToString();
        LastFinishedAt = Stopwatch.GetTimestamp();
        _busy.Add((b.CreatedAt, LastFinishedAt));
    }

    private static JsonObject ErrorObject(string code, string message) => new() { ["code"] = code, ["message"] = message };

    private static JsonObject Error(string code, string message) => new() { ["error"] = ErrorObject(code, message) };

    private static JsonObject Line(string customId, int? status, JsonObject? body, JsonObject? error) => new()
    {
        ["id"] = $"batch_req_{customId}",
        ["custom_id"] = customId,
        ["response"] = status is null ? null : new JsonObject { ["status_code"] = status, ["request_id"] = $"req_{customId}", ["body"] = body },
        ["error"] = error,
    };

    private static JsonObject Completion(JsonElement body, string content) => new()
    {
        ["id"] = "chatcmpl-bench",
        ["object"] = "chat.completion",
        ["created"] = 0,
        ["model"] = body.GetProperty("model").GetString(),
        ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = content }, ["finish_reason"] = "stop" }),
        ["usage"] = new JsonObject { ["prompt_tokens"] = 60, ["completion_tokens"] = 50, ["total_tokens"] = 110 },
    };

    private static Task WriteAsync(HttpContext ctx, int status, JsonNode body)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        return ctx.Response.WriteAsync(body.ToJsonString(), ctx.RequestAborted);
    }

    private sealed class Batch(string id, string inputFileId, string endpoint, long createdAt, long dueAt)
    {
        public string Id { get; } = id;
        public string InputFileId { get; } = inputFileId;
        public string Endpoint { get; } = endpoint;
        public long CreatedAt { get; } = createdAt;
        public long DueAt { get; } = dueAt;
        public string Status { get; set; } = "validating";
        public string? OutputFileId { get; set; }
        public string? ErrorFileId { get; set; }

        public JsonObject ToJson() => new()
        {
            ["id"] = Id,
            ["object"] = "batch",
            ["endpoint"] = Endpoint,
            ["status"] = Status,
            ["input_file_id"] = InputFileId,
            ["output_file_id"] = OutputFileId,
            ["error_file_id"] = ErrorFileId,
            ["completion_window"] = "24h",
        };
    }
}
