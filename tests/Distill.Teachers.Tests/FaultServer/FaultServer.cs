using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Distill.Teachers.Tests.FaultServer;

/// <summary>
/// A fault-injecting OpenAI-compatible chat-completions server on 127.0.0.1 (dynamic port), for tests of anything that calls
/// a teacher. Routes: <c>POST /v1/chat/completions</c> (Bearer key) and <c>POST /openai/deployments/{name}/chat/completions</c>
/// (<c>api-version</c> query and <c>api-key</c> header, 401 otherwise). Faults come from <see cref="Enqueue"/> (one per request,
/// in order), then a seeded random share (<see cref="FaultServerOptions.RandomFaultRate"/>), then <see cref="FaultServerOptions.DefaultFault"/>.
/// Every request is recorded in <see cref="Requests"/>.
/// </summary>
public sealed class FaultServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<Fault> _script = new();
    private readonly ConcurrentQueue<ReceivedRequest> _requests = new();
    private readonly Queue<DateTimeOffset> _window = new();
    private readonly Lock _lock = new();
    private Random _random;
    private int _sequence;

    private FaultServer(WebApplication app, FaultServerOptions options)
    {
        _app = app;
        Options = options;
        _random = new Random(options.Seed);
    }

    public FaultServerOptions Options { get; }

    /// <summary><c>http://127.0.0.1:{port}</c>: the Azure endpoint.</summary>
    public Uri BaseUri { get; private set; } = null!;

    /// <summary><c>http://127.0.0.1:{port}/v1</c>: the OpenAI-compatible endpoint.</summary>
    public Uri OpenAIEndpoint => new(BaseUri, "/v1");

    public IReadOnlyList<ReceivedRequest> Requests => _requests.ToArray();
    public int RequestCount => _requests.Count;
    public int CountStatus(int status) => _requests.Count(r => r.Status == status);

    public static async Task<FaultServer> StartAsync(FaultServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new FaultServerOptions();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new FaultServer(app, options);
        app.MapPost("/v1/chat/completions", server.HandleOpenAIAsync);
        app.MapPost("/openai/deployments/{deployment}/chat/completions", server.HandleAzureAsync);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseUri = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        return server;
    }

    /// <summary>The next requests get these faults, one each, in order.</summary>
    public void Enqueue(params Fault[] faults)
    {
        foreach (var f in faults) _script.Enqueue(f);
    }

    /// <summary>Forgets recorded requests and the script, and reseeds the random faults.</summary>
    public void Reset()
    {
        _requests.Clear();
        _script.Clear();
        lock (_lock) { _window.Clear(); _random = new Random(Options.Seed); }
    }

    private Task HandleOpenAIAsync(HttpContext ctx)
    {
        var auth = ctx.Request.Headers.Authorization.ToString();
        if (auth != $"Bearer {Options.ApiKey}")
        {
            var provided = auth.StartsWith("Bearer ", StringComparison.Ordinal) ? auth[7..] : auth;
            // Echo the key back, as OpenAI once did: the client must redact it.
            return RejectAsync(ctx, 401, "invalid_api_key", $"Incorrect API key provided: {provided}.", null);
        }
        return HandleAsync(ctx, deployment: null);
    }

    private Task HandleAzureAsync(HttpContext ctx, string deployment)
    {
        var version = ctx.Request.Query["api-version"].ToString();
        if (version != Options.AzureApiVersion)
            return RejectAsync(ctx, 404, "404", $"Resource not found (api-version '{version}' is not supported)", null);
        var key = ctx.Request.Headers["api-key"].ToString();
        if (key != Options.ApiKey)
            return RejectAsync(ctx, 401, "401", $"Access denied due to invalid subscription key {key}. Make sure to provide a valid key.", null);
        return HandleAsync(ctx, deployment);
    }

    private async Task RejectAsync(HttpContext ctx, int status, string code, string message, Fault? fault)
    {
        var body = await ReadBodyAsync(ctx);
        Record(ctx, body, status, fault ?? Fault.None);
        await WriteErrorAsync(ctx, status, code, message);
    }

    private async Task HandleAsync(HttpContext ctx, string? deployment)
    {
        var body = await ReadBodyAsync(ctx);
        if (!TryTakeRateSlot())
        {
            Record(ctx, body, 429, Fault.RateLimited);
            ctx.Response.Headers["Retry-After"] = "1";
            await WriteErrorAsync(ctx, 429, "429", "Requests to this deployment have exceeded the rate limit.");
            return;
        }
        var fault = NextFault();
        if (Options.Latency > TimeSpan.Zero)
        {
            try { await Task.Delay(Options.Latency, ctx.RequestAborted); }
            catch (OperationCanceledException) { Record(ctx, body, 499, fault); return; }
        }
        JsonElement request;
        try { request = JsonDocument.Parse(body).RootElement.Clone(); }
        catch (JsonException)
        {
            Record(ctx, body, 400, fault);
            await WriteErrorAsync(ctx, 400, "invalid_json", "The request body is not JSON.");
            return;
        }
        if (Options.RefuseLogprobs && request.TryGetProperty("logprobs", out var askedLogprobs) && askedLogprobs.ValueKind == JsonValueKind.True)
        {
            Record(ctx, body, 400, fault);
            await WriteErrorAsync(ctx, 400, null, "You are not allowed to request logprobs from this model", "invalid_request_error", "logprobs");
            return;
        }
        int status = fault switch
        {
            Fault.RateLimited => 429,
            Fault.ServerError => 500,
            Fault.BadGateway => 502,
            Fault.Unavailable => 503,
            Fault.BadRequest or Fault.PromptFiltered => 400,
            Fault.ModelNotFound or Fault.DeploymentNotFound => 404,
            Fault.Hang => 499,
            Fault.DropConnection => 0,
            _ => 200,
        };
        Record(ctx, body, status, fault);
        switch (fault)
        {
            case Fault.RateLimited or Fault.Unavailable:
                if (Options.RetryAfter is { } ra) ctx.Response.Headers["Retry-After"] = ra;
                if (Options.RetryAfterMs is { } ms) ctx.Response.Headers["retry-after-ms"] = ms.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await WriteErrorAsync(ctx, status, status.ToString(System.Globalization.CultureInfo.InvariantCulture), status == 429 ? "Rate limit reached." : "The service is temporarily unavailable.");
                return;
            case Fault.ServerError or Fault.BadGateway:
                await WriteErrorAsync(ctx, status, "server_error", "The server had an error while processing your request.");
                return;
            case Fault.BadRequest:
                await WriteErrorAsync(ctx, 400, "context_length_exceeded", "This model's maximum context length is 128 tokens.\nPlease reduce the length of the messages.");
                return;
            case Fault.ModelNotFound:
                await WriteErrorAsync(ctx, 404, "model_not_found", $"The model `{(request.TryGetProperty("model", out var model) ? model.GetString() : deployment)}` does not exist or you do not have access to it.", "invalid_request_error");
                return;
            case Fault.DeploymentNotFound:
                await WriteErrorAsync(ctx, 404, "DeploymentNotFound", "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.");
                return;
            case Fault.PromptFiltered:
                await WriteErrorAsync(ctx, 400, "content_filter", "The response was filtered due to the prompt triggering the content management policy.");
                return;
            case Fault.Hang:
                try { await Task.Delay(Timeout.Infinite, ctx.RequestAborted); } catch (OperationCanceledException) { }
                return;
            case Fault.DropConnection:
                ctx.Response.StatusCode = 200;
                ctx.Response.ContentType = "application/json";
                await ctx.Response.WriteAsync("{\"id\":\"chatcmpl-drop\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"mess");
                await ctx.Response.Body.FlushAsync();
                ctx.Abort();
                return;
            case Fault.MalformedJson:
                ctx.Response.StatusCode = 200;
                ctx.Response.ContentType = "application/json";
                await ctx.Response.WriteAsync("{\"id\": \"chatcmpl-bad\", \"choices\": [ {\"message\": <html>oops</html>");
                return;
        }
        var reply = fault switch
        {
            Fault.InvalidToolArguments => new ScriptedReply(null, [new ScriptedToolCall(FirstToolName(request) ?? "lookup_order", "{\"order_id\": 12")], "tool_calls"),
            Fault.UnknownTool => new ScriptedReply(null, [new ScriptedToolCall("delete_all_orders", "{}")], "tool_calls"),
            Fault.ContentFilter => new ScriptedReply(null, null, "content_filter"),
            Fault.Length => new ScriptedReply("This answer was cut off in the mid", null, "length"),
            Fault.ToolCallAsText => new ScriptedReply("<tool_call>\n{\"name\": \"lookup_order\", \"arguments\": {\"order_id\": 12\n</tool_call>", null, "stop"),
            _ => DefaultReply(request),
        };
        var json = Completion(request, deployment, reply);
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(json);
    }

    private ScriptedReply DefaultReply(JsonElement request)
    {
        if (Options.Reply is { } reply) return reply(request);
        if (Options.ToolCallArguments is { } args && FirstToolName(request) is { } tool)
            return new ScriptedReply(null, [new ScriptedToolCall(tool, args)], "tool_calls", Options.ReasoningContent);
        var content = Options.Content ?? $"echo: {LastUserMessage(request)}";
        return new ScriptedReply(content, null, "stop", Options.ReasoningContent);
    }

    /// <summary>The entry with <c>token_id</c> when <paramref name="id"/> is set (left out otherwise, as OpenAI does).</summary>
    private static JsonObject WithTokenId(JsonObject entry, int? id)
    {
        if (id is { } value) entry["token_id"] = value;
        return entry;
    }

    private string Completion(JsonElement request, string? deployment, ScriptedReply reply)
    {
        int n = Interlocked.Increment(ref _sequence);
        if (Options.CompletionWords is { } words && reply.Content is { Length: > 0 } text)
        {
            int count;
            lock (_lock) count = _random.Next(words.Min, words.Max + 1);
            var parts = Tokenize(text);
            // A real server stops at max_tokens (finish_reason length), so it never bills more.
            int? max = request.TryGetProperty("max_completion_tokens", out var m1) && m1.ValueKind == JsonValueKind.Number ? m1.GetInt32()
                : request.TryGetProperty("max_tokens", out var m2) && m2.ValueKind == JsonValueKind.Number ? m2.GetInt32() : null;
            var truncated = max is { } cap && count > cap;
            if (truncated) count = max!.Value;
            reply = reply with { Content = string.Concat(Enumerable.Range(0, count).Select(i => parts[i % parts.Count])), FinishReason = truncated ? "length" : reply.FinishReason };
        }
        var message = new JsonObject { ["role"] = "assistant", ["content"] = reply.Content };
        if (reply.Reasoning is not null) message["reasoning_content"] = reply.Reasoning;
        if (reply.ToolCalls is { Count: > 0 } calls)
            message["tool_calls"] = new JsonArray(calls.Select((c, i) => (JsonNode)new JsonObject
            {
                ["id"] = c.Id ?? $"call_{n}_{i}",
                ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = c.Name, ["arguments"] = c.Arguments },
            }).ToArray());
        var tokens = Tokenize(reply.Content ?? "");
        JsonNode? logprobs = null;
        if (request.TryGetProperty("logprobs", out var lp) && lp.ValueKind == JsonValueKind.True)
        {
            int top = request.TryGetProperty("top_logprobs", out var t) && t.ValueKind == JsonValueKind.Number ? t.GetInt32() : 0;
            var ids = Options.LogprobTokenIds;
            logprobs = new JsonObject
            {
                ["content"] = new JsonArray(tokens.Select((tok, i) => (JsonNode)WithTokenId(new JsonObject
                {
                    ["token"] = tok,
                    ["logprob"] = -0.1 * (i + 1),
                    ["bytes"] = Bytes(tok),
                    ["top_logprobs"] = new JsonArray(Enumerable.Range(0, top).Select(k => (JsonNode)WithTokenId(new JsonObject
                    {
                        ["token"] = k == 0 ? tok : $"{tok}#{k}",
                        ["logprob"] = -0.1 * (i + 1) - k,
                        ["bytes"] = Bytes(k == 0 ? tok : $"{tok}#{k}"),
                    }, ids ? 1000 * (i + 1) + k : null)).ToArray()),
                }, ids ? 100 + i : null)).ToArray()),
            };
            if (Options.LogprobsMode is { } mode) logprobs["logprobs_mode"] = mode;
        }
        int prompt = Math.Max(1, request.GetRawText().Length / 4);
        var completion = new JsonObject
        {
            ["id"] = $"chatcmpl-{n}",
            ["object"] = "chat.completion",
            ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["model"] = deployment ?? (request.TryGetProperty("model", out var m) ? m.GetString() : "fault-model"),
            ["system_fingerprint"] = "fp_fault",
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = message,
                ["logprobs"] = logprobs,
                ["finish_reason"] = reply.FinishReason ?? "stop",
            }),
            ["usage"] = new JsonObject
            {
                ["prompt_tokens"] = prompt,
                ["completion_tokens"] = tokens.Count,
                ["total_tokens"] = prompt + tokens.Count,
                ["prompt_tokens_details"] = new JsonObject { ["cached_tokens"] = Math.Min(Options.CachedTokens, prompt) },
            },
        };
        return completion.ToJsonString();
    }

    /// <summary>Words with their leading space: "a b" -> ["a", " b"].</summary>
    public static List<string> Tokenize(string text) => Regex.Matches(text, @"\s*\S+").Select(x => x.Value).ToList();

    private static JsonArray Bytes(string s) => new(Encoding.UTF8.GetBytes(s).Select(b => (JsonNode)(int)b).ToArray());

    private static string? FirstToolName(JsonElement request) =>
        request.TryGetProperty("tools", out var tools) && tools.ValueKind == JsonValueKind.Array && tools.GetArrayLength() > 0
            ? tools[0].GetProperty("function").GetProperty("name").GetString()
            : null;

    private static string LastUserMessage(JsonElement request)
    {
        string last = "";
        if (request.TryGetProperty("messages", out var messages))
            foreach (var m in messages.EnumerateArray())
                if (m.GetProperty("role").GetString() == "user" && m.TryGetProperty("content", out var c))
                    last = c.ValueKind == JsonValueKind.String ? c.GetString() ?? "" : c.ValueKind == JsonValueKind.Array ? string.Concat(c.EnumerateArray().Select(p => p.TryGetProperty("text", out var t) ? t.GetString() : "")) : "";
        return last;
    }

    private Fault NextFault()
    {
        if (_script.TryDequeue(out var scripted)) return scripted;
        lock (_lock)
        {
            if (Options.RandomFaultRate > 0 && Options.RandomFaults.Count > 0 && _random.NextDouble() < Options.RandomFaultRate)
                return Options.RandomFaults[_random.Next(Options.RandomFaults.Count)];
        }
        return Options.DefaultFault;
    }

    private bool TryTakeRateSlot()
    {
        if (Options.RequestsPerWindow is not { } limit) return true;
        var now = DateTimeOffset.UtcNow;
        lock (_lock)
        {
            while (_window.Count > 0 && now - _window.Peek() >= Options.RateWindow) _window.Dequeue();
            if (_window.Count >= limit) return false;
            _window.Enqueue(now);
            return true;
        }
    }

    private void Record(HttpContext ctx, string body, int status, Fault fault) => _requests.Enqueue(new ReceivedRequest(
        ctx.Request.Path, ctx.Request.QueryString.ToString(), ctx.Request.Headers.Authorization.ToString() is { Length: > 0 } a ? a : null,
        ctx.Request.Headers["api-key"].ToString() is { Length: > 0 } k ? k : null, body, DateTimeOffset.UtcNow, status, fault));

    private static async Task<string> ReadBodyAsync(HttpContext ctx)
    {
        using var reader = new StreamReader(ctx.Request.Body, Encoding.UTF8);
        return await reader.ReadToEndAsync(ctx.RequestAborted);
    }

    private static async Task WriteErrorAsync(HttpContext ctx, int status, string? code, string message, string type = "fault_server", string? param = null)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        var error = new JsonObject { ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["param"] = param, ["code"] = code } };
        await ctx.Response.WriteAsync(error.ToJsonString());
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(cts.Token);
        await _app.DisposeAsync();
    }
}
