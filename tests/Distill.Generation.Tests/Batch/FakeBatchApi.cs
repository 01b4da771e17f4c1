using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Teachers.Tests.FaultServer;

namespace Distill.Generation.Tests.Batch;

/// <summary>What the fake does with one request line.</summary>
public enum LineOutcome
{
    Ok,
    ServerError,
    Expired,
    BadRequest,
}

/// <summary>
/// The Files and Batch REST APIs in memory, following the providers' documented lifecycle: an uploaded JSONL file; a batch that
/// is <c>validating</c>, then <c>in_progress</c> for <see cref="PollsInProgress"/> status reads, then <c>completed</c> with an
/// output file (the lines that succeeded) and an error file (those that did not: HTTP errors as responses, expired lines as
/// <c>batch_expired</c> errors). A cancelled batch is <c>cancelling</c>, then <c>cancelled</c> with the first
/// <see cref="LinesDoneBeforeCancel"/> lines answered. Azure shape (<c>/openai/...?api-version=</c>, <c>api-key</c>) or OpenAI
/// shape (<c>/v1/...</c>, Bearer); anything else is a 404.
/// </summary>
public sealed class FakeBatchApi(bool azure, Func<JsonElement, ScriptedReply> reply) : HttpMessageHandler
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, string> _files = [];
    private readonly Dictionary<string, FakeBatch> _batches = [];
    private readonly Dictionary<string, int> _attempts = [];
    private int _next;

    public Uri Endpoint => new(azure ? "https://fake.openai.azure.com" : "https://fake.example/v1");

    /// <summary>Outcome of a line, given its request body and which attempt of this custom_id it is (1 = first).</summary>
    public Func<JsonElement, int, LineOutcome> Outcome { get; set; } = (_, _) => LineOutcome.Ok;

    public int PollsInProgress { get; set; } = 1;
    public int LinesDoneBeforeCancel { get; set; }

    /// <summary>When set, cancel requests never answer (a provider that does not finish cancelling in time).</summary>
    public bool HangOnCancel { get; set; }

    /// <summary>Called with each new batch's id.</summary>
    public Action<string>? OnCreated { get; set; }

    public List<string> Uploads { get; } = [];
    public List<string> Calls { get; } = [];
    public List<string> AuthHeaders { get; } = [];

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var path = request.RequestUri!.AbsolutePath;
        var prefix = azure ? "/openai/" : "/v1/";
        lock (_lock)
        {
            Calls.Add($"{request.Method} {request.RequestUri.PathAndQuery}");
            AuthHeaders.Add(azure ? (request.Headers.TryGetValues("api-key", out var k) ? string.Join(",", k) : "") : request.Headers.Authorization?.ToString() ?? "");
        }
        if (!path.StartsWith(prefix, StringComparison.Ordinal) || (azure && !request.RequestUri.Query.Contains("api-version=2024-10-21", StringComparison.Ordinal)))
            return Json(HttpStatusCode.NotFound, new JsonObject { ["error"] = new JsonObject { ["message"] = "not found" } });
        var parts = path[prefix.Length..].Split('/');
        if (request.Method == HttpMethod.Post && parts is ["files"])
        {
            var form = (MultipartFormDataContent)request.Content!;
            var file = form.First(c => c.Headers.ContentDisposition?.Name?.Trim('"') == "file");
            var text = await file.ReadAsStringAsync(cancellationToken);
            lock (_lock)
            {
                var id = $"file-{++_next}";
                _files[id] = text;
                Uploads.Add(text);
                return Json(HttpStatusCode.OK, new JsonObject { ["id"] = id, ["object"] = "file", ["purpose"] = "batch" });
            }
        }
        if (request.Method == HttpMethod.Get && parts is ["files", var fileId, "content"])
        {
            lock (_lock) return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(_files[fileId], Encoding.UTF8, "application/jsonl") };
        }
        if (request.Method == HttpMethod.Post && parts is ["batches"])
        {
            var body = JsonNode.Parse(await request.Content!.ReadAsStringAsync(cancellationToken))!;
            FakeBatch batch;
            lock (_lock)
            {
                batch = new FakeBatch($"batch_{++_next}", body["input_file_id"]!.GetValue<string>());
                _batches[batch.Id] = batch;
            }
            OnCreated?.Invoke(batch.Id);
            return Json(HttpStatusCode.OK, batch.ToJson());
        }
        if (request.Method == HttpMethod.Get && parts is ["batches", var batchId])
        {
            lock (_lock)
            {
                var b = _batches[batchId];
                Advance(b);
                return Json(HttpStatusCode.OK, b.ToJson());
            }
        }
        if (request.Method == HttpMethod.Post && parts is ["batches", var cancelId, "cancel"])
        {
            if (HangOnCancel) await Task.Delay(Timeout.Infinite, cancellationToken);
            lock (_lock)
            {
                var b = _batches[cancelId];
                if (!b.IsTerminal) b.Status = "cancelling";
                return Json(HttpStatusCode.OK, b.ToJson());
            }
        }
        return Json(HttpStatusCode.NotFound, new JsonObject { ["error"] = new JsonObject { ["message"] = $"no route {request.Method} {path}" } });
    }

    private void Advance(FakeBatch b)
    {
        switch (b.Status)
        {
            case "validating":
                b.Status = "in_progress";
                break;
            case "in_progress" when ++b.Polls >= PollsInProgress:
                Finish(b, "completed", int.MaxValue);
                break;
            case "cancelling":
                Finish(b, "cancelled", LinesDoneBeforeCancel);
                break;
        }
    }

    private void Finish(FakeBatch b, string status, int linesDone)
    {
        var output = new StringBuilder();
        var errors = new StringBuilder();
        var lines = _files[b.InputFileId].Split('\n', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < lines.Length && i < linesDone; i++)
        {
            using var doc = JsonDocument.Parse(lines[i]);
            var customId = doc.RootElement.GetProperty("custom_id").GetString()!;
            var body = doc.RootElement.GetProperty("body");
            var attempt = _attempts[customId] = _attempts.GetValueOrDefault(customId) + 1;
            var line = Outcome(body, attempt) switch
            {
                LineOutcome.Ok => Line(customId, 200, Completion(customId, body, reply(body)), null),
                LineOutcome.ServerError => Line(customId, 500, new JsonObject { ["error"] = new JsonObject { ["code"] = "server_error", ["message"] = "internal error" } }, null),
                LineOutcome.BadRequest => Line(customId, 400, new JsonObject { ["error"] = new JsonObject { ["code"] = "invalid_request", ["message"] = "bad" } }, null),
                _ => Line(customId, null, null, new JsonObject { ["code"] = "batch_expired", ["message"] = "This request could not be executed before the completion window expired." }),
            };
            (line["response"] is JsonObject { } r && r["status_code"]!.GetValue<int>() == 200 ? output : errors).Append(line.ToJsonString()).Append('\n');
        }
        b.Status = status;
        if (output.Length > 0) _files[b.OutputFileId = $"file-{++_next}"] = output.ToString();
        if (errors.Length > 0) _files[b.ErrorFileId = $"file-{++_next}"] = errors.ToString();
    }

    private static JsonObject Line(string customId, int? status, JsonObject? body, JsonObject? error) => new()
    {
        ["id"] = $"batch_req_{customId}",
        ["custom_id"] = customId,
        ["response"] = status is null ? null : new JsonObject { ["status_code"] = status, ["request_id"] = "req", ["body"] = body },
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

    private static HttpResponseMessage Json(HttpStatusCode status, JsonNode body) =>
        new(status) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };

    private sealed class FakeBatch(string id, string inputFileId)
    {
        public string Id { get; } = id;
        public string InputFileId { get; } = inputFileId;
        public string Status { get; set; } = "validating";
        public int Polls { get; set; }
        public string? OutputFileId { get; set; }
        public string? ErrorFileId { get; set; }
        public bool IsTerminal => Status is "completed" or "failed" or "expired" or "cancelled";

        public JsonObject ToJson() => new()
        {
            ["id"] = Id,
            ["object"] = "batch",
            ["endpoint"] = "/chat/completions",
            ["status"] = Status,
            ["input_file_id"] = InputFileId,
            ["output_file_id"] = OutputFileId,
            ["error_file_id"] = ErrorFileId,
            ["completion_window"] = "24h",
        };
    }
}
