using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Core.Errors;
using Distill.Server.Engine;
using Distill.Server.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Distill.Server.Hosting;

/// <summary>
/// The OpenAI-compatible HTTP server: /v1/chat/completions, /v1/models, and the Azure OpenAI route
/// /openai/deployments/{deployment}/chat/completions?api-version=..., so both `OpenAIClient` and `AzureOpenAIClient` work.
/// Client mistakes get OpenAI-style JSON errors (400/401/404/422/429); engine failures a 500 without internals.
/// </summary>
public static class ChatServer
{
    public static WebApplication Build(IChatEngine engine, ServeOptions options, string? apiKey, ILoggerFactory? loggerFactory = null)
    {
        if (!options.IsLoopback && string.IsNullOrEmpty(apiKey))
        {
            throw new DistillException(
                $"Refusing to serve on {options.Host} without an API key.",
                $"Set the environment variable {options.ApiKeyEnv}, or bind to 127.0.0.1.");
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://{(options.Host == "localhost" ? "127.0.0.1" : options.Host)}:{options.Port}");
        builder.Logging.ClearProviders();
        if (loggerFactory is not null)
        {
            builder.Services.AddSingleton(loggerFactory);
        }
        var app = builder.Build();
        var logger = (loggerFactory ?? app.Services.GetRequiredService<ILoggerFactory>()).CreateLogger("Distill.Server");
        var admission = new Admission(options.MaxQueuedRequests);

        app.Use(async (context, next) =>
        {
            try
            {
                if (!Authorized(context.Request, apiKey))
                {
                    throw new OpenAiError(401, "Incorrect or missing API key. Send it as 'Authorization: Bearer <key>' or 'api-key: <key>'.",
                        type: "invalid_request_error", code: "invalid_api_key");
                }
                await next(context);
            }
            catch (OpenAiError error)
            {
                await WriteError(context, error);
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                // The client went away; nothing to answer.
            }
            catch (Exception e)
            {
                logger.LogError(e, "Request {Path} failed", context.Request.Path);
                await WriteError(context, new OpenAiError(500, "The server failed to process the request.", type: "server_error"));
            }
        });

        app.MapGet("/v1/models", () => Results.Json(ChatResponses.Models(engine.ModelId, StartedAt)));
        app.MapPost("/v1/chat/completions", (HttpContext context) => Complete(context, engine, admission, routeModel: null));
        app.MapPost("/openai/deployments/{deployment}/chat/completions", (HttpContext context, string deployment) =>
        {
            if (string.IsNullOrEmpty(context.Request.Query["api-version"]))
            {
                throw OpenAiError.Invalid("Missing required query parameter 'api-version'.", "api-version");
            }
            return Complete(context, engine, admission, deployment);
        });
        app.MapFallback((HttpContext context) =>
            throw new OpenAiError(404, $"Unknown route {context.Request.Method} {context.Request.Path}.", code: "not_found"));
        return app;
    }

    private static readonly long StartedAt = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private static async Task Complete(HttpContext context, IChatEngine engine, Admission admission, string? routeModel)
    {
        JsonElement body;
        try
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            body = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw OpenAiError.Invalid($"The request body is not valid JSON: {e.Message}");
        }

        var parsed = ChatRequestParser.Parse(body, routeModel);
        if (parsed.Model != engine.ModelId)
        {
            throw new OpenAiError(404, $"The model '{parsed.Model}' does not exist; this server serves '{engine.ModelId}'.",
                param: routeModel is null ? "model" : "deployment", code: "model_not_found");
        }
        var promptTokens = engine.CountPromptTokens(parsed.Request);
        var maxTokens = parsed.Request.MaxTokens ?? 0;
        if (promptTokens + maxTokens > engine.ContextLength)
        {
            throw OpenAiError.Invalid(
                $"This model's maximum context length is {engine.ContextLength} tokens; the messages use {promptTokens} " +
                $"and max_tokens asks for {maxTokens} more.", "messages", "context_length_exceeded");
        }

        using var ticket = admission.Enter()
            ?? throw new OpenAiError(429, "The server is busy; retry after a moment.", type: "rate_limit_error", code: "queue_full");
        var id = "chatcmpl-" + Guid.NewGuid().ToString("N")[..24];
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        try
        {
            if (parsed.Stream)
            {
                await Stream(context, engine, parsed, id, created);
                return;
            }
            var result = await engine.CompleteAsync(parsed.Request, context.RequestAborted);
            await Results.Json(ChatResponses.Completion(id, parsed.Model, created, result)).ExecuteAsync(context);
        }
        catch (EngineRequestException e)
        {
            throw OpenAiError.Invalid(e.Message, e.Param, e.Code);
        }
    }

    private static async Task Stream(HttpContext context, IChatEngine engine, ParsedChatRequest parsed, string id, long created)
    {
        var started = new HashSet<int>();
        EngineUsage? usage = null;
        await foreach (var delta in engine.StreamAsync(parsed.Request, context.RequestAborted))
        {
            if (!context.Response.HasStarted)
            {
                context.Response.ContentType = "text/event-stream";
                context.Response.Headers.CacheControl = "no-cache";
            }
            usage = delta.Usage ?? usage;
            await WriteEvent(context, ChatResponses.Chunk(id, parsed.Model, created, delta, started.Add(delta.Index)));
        }
        if (parsed.IncludeUsageInStream && usage is not null)
        {
            await WriteEvent(context, ChatResponses.UsageChunk(id, parsed.Model, created, usage));
        }
        await context.Response.WriteAsync("data: [DONE]\n\n", context.RequestAborted);
    }

    private static async Task WriteEvent(HttpContext context, JsonObject chunk)
    {
        await context.Response.WriteAsync($"data: {chunk.ToJsonString()}\n\n", context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }

    private static async Task WriteError(HttpContext context, OpenAiError error)
    {
        if (context.Response.HasStarted)
        {
            return; // Mid-stream: the client sees the stream end without [DONE].
        }
        context.Response.StatusCode = error.Status;
        await context.Response.WriteAsJsonAsync(error.Body);
    }

    private static bool Authorized(HttpRequest request, string? apiKey)
    {
        if (string.IsNullOrEmpty(apiKey))
        {
            return true;
        }
        var presented = request.Headers["api-key"].FirstOrDefault();
        var authorization = request.Headers.Authorization.FirstOrDefault();
        if (presented is null && authorization?.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) == true)
        {
            presented = authorization["Bearer ".Length..].Trim();
        }
        return presented is not null && CryptographicOperations.FixedTimeEquals(
            Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(apiKey));
    }

    /// <summary>Bounds the requests in flight or waiting for the engine; past the bound clients get 429, not an unbounded queue.</summary>
    private sealed class Admission(int capacity)
    {
        private int _inside;

        public IDisposable? Enter()
        {
            if (Interlocked.Increment(ref _inside) > capacity)
            {
                Interlocked.Decrement(ref _inside);
                return null;
            }
            return new Ticket(this);
        }

        private sealed class Ticket(Admission owner) : IDisposable
        {
            private int _disposed;

            public void Dispose()
            {
                if (Interlocked.Exchange(ref _disposed, 1) == 0)
                {
                    Interlocked.Decrement(ref owner._inside);
                }
            }
        }
    }
}
