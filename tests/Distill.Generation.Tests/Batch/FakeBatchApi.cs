using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Teachers.Tests.FaultServer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Distill.Generation.Tests.Batch;

/// <summary>What the fake does with one request line.</summary>
public enum LineOutcome
{
    Ok,
    ServerError,
    Expired,
    BadRequest,
    ContentFilter,
}

/// <summary>
/// The Files and Batch REST APIs on 127.0.0.1 (Kestrel, dynamic port), following the providers' documented lifecycle: an
/// uploaded JSONL file (multipart, <c>purpose=batch</c>); a batch that reads <c>validating</c>, then <c>in_progress</c> for
/// <see cref="PollsInProgress"/> status reads, then <c>finalizing</c>, then <c>completed</c> with an output file (the lines that
/// succeeded) and an error file (HTTP errors as responses, unreached lines as <c>batch_expired</c> errors). Variants:
/// <see cref="FailValidation"/> (<c>failed</c> with <c>errors.data</c>, no files), <see cref="ExpireAfterLines"/> (<c>expired</c>
/// with a partial output), <see cref="DropLinesAfter"/> (a completed batch whose files miss lines), and cancellation
/// (<c>cancelling</c>, then <c>cancelled</c> with the first <see cref="LinesDoneBeforeCancel"/> lines answered). Azure shape
/// (<c>/openai/...?api-version=2024-10-21</c>, <c>api-key</c>) or OpenAI shape (<c>/v1/...</c>, Bearer); a wrong key is a 401 that
/// echoes the key (the client must redact it), anything else a 404.
/// </summary>
public sealed class FakeBatchApi : IAsyncDisposable
{
    public const string Key = "sk-batch-test-key";
    private readonly WebApplication _app;
    private readonly bool _azure;
    private readonly Func<JsonElement, ScriptedReply> _reply;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, string> _files = [];
    private readonly Dictionary<string, FakeBatch> _batches = [];
    private readonly Dictionary<string, int> _attempts = [];
    private int _next;

    private FakeBatchApi(WebApplication app, bool azure, Func<JsonElement, ScriptedReply> reply)
    {
        _app = app;
        _azure = azure;
        _reply = reply;
    }

    public static async Task<FakeBatchApi> StartAsync(bool azure, Func<JsonElement, ScriptedReply> reply)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var api = new FakeBatchApi(app, azure, reply);
        app.Run(api.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        api.BaseUri = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        return api;
    }

    public Uri BaseUri { get; private set; } = null!;

    /// <summary>The teacher's Endpoint: the resource URL (Azure) or the base URL with <c>/v1</c> (OpenAI).</summary>
    public string Endpoint => _azure ? BaseUri.ToString() : new Uri(BaseUri, "/v1").ToString();

    /// <summary>Outcome of a line, given its request body and which attempt of this custom_id it is (1 = first).</summary>
    public Func<JsonElement, int, LineOutcome> Outcome { get; set; } = (_, _) => LineOutcome.Ok;

    public int PollsInProgress { get; set; } = 1;
    public int LinesDoneBeforeCancel { get; set; }
    public bool FailValidation { get; set; }

    /// <summary>When set, a batch ends <c>expired</c> after answering this many lines; the rest are <c>batch_expired</c> error lines.</summary>
    public int? ExpireAfterLines { get; set; }

    /// <summary>When set, a completed batch's files hold only its first lines: the rest are missing from both files.</summary>
    public int? DropLinesAfter { get; set; }

    /// <summary>When set, cancel requests never answer (a provider that does not finish cancelling in time).</summary>
    public bool HangOnCancel { get; set; }

    /// <summary>Called with each new batch's id.</summary>
    public Action<string>? OnCreated { get; set; }

    public List<string> Uploads { get; } = [];
    public List<string> Calls { get; } = [];
    /// <summary>Every status read, in order: (batch id, status).</summary>
    public List<(string Batch, string Status)> Statuses { get; } = [];

    /// <summary>The credential of every call: the <c>api-key</c> header (Azure) or the Authorization header (OpenAI).</summary>
    public List<string> Credentials { get; } = [];

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        var request = ctx.Request;
        var path = request.Path.Value ?? "";
        var credential = _azure ? request.Headers["api-key"].ToString() : request.Headers.Authorization.ToString();
        lock (_lock)
        {
            Calls.Add($"{request.Method} {path}{request.QueryString}");
            Credentials.Add(credential);
        }
        var prefix = _azure ? "/openai/" : "/v1/";
        if (!path.StartsWith(prefix, StringComparison.Ordinal) || (_azure && request.Query["api-version"] != "2024-10-21"))
        {
            await WriteAsync(ctx, 404, Error("not_found", $"no route {request.Method} {path}"));
            return;
        }
        if (credential != (_azure ? Key : $"Bearer {Key}"))
        {
            await WriteAsync(ctx, 401, Error("invalid_api_key", $"Incorrect API key provided: {credential}."));
            return;
        }
        var parts = path[prefix.Length..].Split('/');
        switch (request.Method, parts)
        {
            case ("POST", ["files"]):
                var form = await request.ReadFormAsync(ctx.RequestAborted);
                using (var reader = new StreamReader(form.Files["file"]!.OpenReadStream()))
                {
                    var text = await reader.ReadToEndAsync(ctx.RequestAborted);
                    JsonObject file;
                    lock (_lock)
                    {
                        var id = $"file-{++_next}";
                        _files[id] = text;
                        Uploads.Add(text);
                        file = new JsonObject { ["id"] = id, ["object"] = "file", ["purpose"] = form["purpose"].ToString(), ["bytes"] = Encoding.UTF8.GetByteCount(text) };
                    }
                    await WriteAsync(ctx, 200, file);
                }
                return;
            case ("GET", ["files", var fileId, "content"]):
                string content;
                lock (_lock) content = _files[fileId];
                ctx.Response.ContentType = "application/octet-stream";
                await ctx.Response.WriteAsync(content, ctx.RequestAborted);
                return;
            case ("POST", ["batches"]):
                var body = (await JsonNode.ParseAsync(request.Body, cancellationToken: ctx.RequestAborted))!;
                FakeBatch batch;
                lock (_lock)
                {
                    batch = new FakeBatch($"batch_{++_next}", body["input_file_id"]!.GetValue<string>(), body["endpoint"]!.GetValue<string>());
                    _batches[batch.Id] = batch;
                }
                OnCreated?.Invoke(batch.Id);
                await WriteAsync(ctx, 200, batch.ToJson());
                return;
            case ("GET", ["batches", var batchId]):
                JsonObject state;
                lock (_lock)
                {
                    var b = _batches[batchId];
                    Advance(b);
                    Statuses.Add((b.Id, b.Status));
                    state = b.ToJson();
                }
                await WriteAsync(ctx, 200, state);
                return;
            case ("POST", ["batches", var cancelId, "cancel"]):
                if (HangOnCancel) await Task.Delay(Timeout.Infinite, ctx.RequestAborted);
                JsonObject cancelled;
                lock (_lock)
                {
                    var b = _batches[cancelId];
                    if (!b.IsTerminal) b.Status = "cancelling";
                    cancelled = b.ToJson();
                }
                await WriteAsync(ctx, 200, cancelled);
                return;
            default:
                await WriteAsync(ctx, 404, Error("not_found", $"no route {request.Method} {path}"));
                return;
        }
    }

    private void Advance(FakeBatch b)
    {
        switch (b.Status)
        {
            case "validating" when FailValidation:
                b.Status = "failed";
                b.Errors = "invalid_request: line 1: the model does not support batches";
                break;
            case "validating":
                b.Status = "in_progress";
                break;
            case "in_progress" when ++b.Polls >= PollsInProgress:
                if (ExpireAfterLines is { } answered) Finish(b, "expired", answered, expireRest: true);
                else b.Status = "finalizing";
                break;
            case "finalizing":
                Finish(b, "completed", DropLinesAfter ?? int.MaxValue, expireRest: false);
                break;
            case "cancelling":
                Finish(b, "cancelled", LinesDoneBeforeCancel, expireRest: false);
                break;
        }
    }

    private void Finish(FakeBatch b, string status, int linesDone, bool expireRest)
    {
        var output = new StringBuilder();
        var errors = new StringBuilder();
        var lines = _files[b.InputFileId].Split('\n', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < lines.Length; i++)
        {
            using var doc = JsonDocument.Parse(lines[i]);
            var customId = doc.RootElement.GetProperty("custom_id").GetString()!;
            if (doc.RootElement.GetProperty("url").GetString() != b.Endpoint) throw new InvalidOperationException("a line's url differs from the batch's endpoint");
            if (i >= linesDone)
            {
                if (expireRest) errors.Append(Line(customId, null, null, ErrorObject("batch_expired", "This request could not be executed before the completion window expired.")).ToJsonString()).Append('\n');
                continue;
            }
            var body = doc.RootElement.GetProperty("body");
            var attempt = _attempts[customId] = _attempts.GetValueOrDefault(customId) + 1;
            var line = Outcome(body, attempt) switch
            {
                LineOutcome.Ok => Line(customId, 200, Completion(customId, body, _reply(body)), null),
                LineOutcome.ServerError => Line(customId, 500, Error("server_error", "The server had an error processing your request."), null),
                LineOutcome.BadRequest => Line(customId, 400, Error("invalid_request_error", "Invalid value for 'temperature'."), null),
                LineOutcome.ContentFilter => Line(customId, 400, Error("content_filter", "The prompt was filtered."), null),
                _ => Line(customId, null, null, ErrorObject("batch_expired", "This request could not be executed before the completion window expired.")),
            };
            (line["response"] is JsonObject r && r["status_code"]!.GetValue<int>() == 200 ? output : errors).Append(line.ToJsonString()).Append('\n');
        }
        b.Status = status;
        if (output.Length > 0) _files[b.OutputFileId = $"file-{++_next}"] = output.ToString();
        if (errors.Length > 0) _files[b.ErrorFileId = $"file-{++_next}"] = errors.ToString();
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

    private static JsonObject Completion(string customId, JsonElement body, ScriptedReply r)
    {
        var message = new JsonObject { ["role"] = "assistant", ["content"] = r.Content };
        if (r.ToolCalls is { Count: > 0 } calls)
            message["tool_calls"] = new JsonArray([.. calls.Select((c, i) => (JsonNode)new JsonObject
            {
                ["id"] = c.Id ?? $"call_{customId[^8..]}_{i}",
                ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = c.Name, ["arguments"] = c.Arguments },
            })]);
        if (r.Reasoning is not null) message["reasoning_content"] = r.Reasoning;
        return new JsonObject
        {
            ["id"] = "chatcmpl-fake",
            ["object"] = "chat.completion",
            ["created"] = 0,
            ["model"] = body.GetProperty("model").GetString(),
            ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = message, ["finish_reason"] = r.FinishReason ?? "stop" }),
            ["usage"] = new JsonObject { ["prompt_tokens"] = 60, ["completion_tokens"] = 50, ["total_tokens"] = 110 },
        };
    }

    private static Task WriteAsync(HttpContext ctx, int status, JsonNode body)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        return ctx.Response.WriteAsync(body.ToJsonString(), ctx.RequestAborted);
    }

    private sealed class FakeBatch(string id, string inputFileId, string endpoint)
    {
        public string Id { get; } = id;
        public string InputFileId { get; } = inputFileId;
        public string Endpoint { get; } = endpoint;
        public string Status { get; set; } = "validating";
        public int Polls { get; set; }
        public string? OutputFileId { get; set; }
        public string? ErrorFileId { get; set; }
        public string? Errors { get; set; }
        public bool IsTerminal => Status is "completed" or "failed" or "expired" or "cancelled";

        public JsonObject ToJson() => new()
        {
            ["id"] = Id,
            ["object"] = "batch",
            ["endpoint"] = Endpoint,
            ["status"] = Status,
            ["input_file_id"] = InputFileId,
            ["output_file_id"] = OutputFileId,
            ["error_file_id"] = ErrorFileId,
            ["errors"] = Errors is null ? null : new JsonObject { ["object"] = "list", ["data"] = new JsonArray(new JsonObject { ["code"] = "invalid_request", ["message"] = Errors }) },
            ["completion_window"] = "24h",
        };
    }
}
