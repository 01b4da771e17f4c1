using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Core.Samples;
using Distill.Teachers;
using Distill.World.Store;
using Distill.World.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Distill.Cli.Tests;

/// <summary>
/// An OpenAI-compatible teacher on 127.0.0.1 that plays the World's scripted demonstrations: given the conversation so far it
/// answers the demonstration's next assistant turn (a tool call, or the final answer). Bearer key required on the OpenAI route;
/// Azure OpenAI's route (`/openai/deployments/{deployment}/chat/completions?api-version=...`) answers the same turns and
/// requires the key in the `api-key` header, the deployment <see cref="AzureDeployment"/> and the api-version <see cref="AzureApiVersion"/>.
/// </summary>
internal sealed class ScriptedTeacherServer : IAsyncDisposable
{
    public const string Key = "sk-cli-test-SECRET-789";
    public const string KeyEnv = "DISTILL_CLI_TEST_TEACHER_KEY";
    public const string AzureDeployment = "gpt-4o-mini";
    public const string AzureApiVersion = "2024-10-21";

    private readonly WebApplication _app;
    private readonly ScriptedWorldTeacher _teacher;
    private int _requests;
    private int _azureRequests;

    private ScriptedTeacherServer(WebApplication app, StoreWorld world, IEnumerable<WorldTask> tasks)
    {
        _app = app;
        _teacher = new ScriptedWorldTeacher(world, tasks);
    }

    /// <summary>The OpenAI-compatible base URL (…/v1).</summary>
    public Uri Endpoint { get; private set; } = null!;

    /// <summary>The Azure OpenAI resource URL (what a teacher's Endpoint names for Provider azure-openai).</summary>
    public Uri AzureEndpoint { get; private set; } = null!;

    /// <summary>Requests that came in on the Azure route with the right deployment, api-version and api-key.</summary>
    public int AzureRequestCount => Volatile.Read(ref _azureRequests);

    public int RequestCount => Volatile.Read(ref _requests);
    public TimeSpan Latency { get; set; }

    /// <summary>Answer requests that ask for logprobs with OpenAI's 400 "You are not allowed to request logprobs from this model".</summary>
    public bool RefuseLogprobs { get; set; }

    /// <summary>Answer every request with finish_reason length (the sample is rejected as truncated).</summary>
    public bool Truncate { get; set; }

    /// <param name="trainTasks">The first train tasks it answers (as `--tasks world:train --count N` lists them).</param>
    /// <param name="heldOutTasks">The first held-out tasks it answers too (for `distill evaluate --teacher`).</param>
    public static async Task<ScriptedTeacherServer> StartAsync(int trainTasks, int heldOutTasks = 0)
    {
        var world = new StoreWorld();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new ScriptedTeacherServer(app, world, new WorldTaskGenerator(world).Generate(WorldSplits.Train, trainTasks)
            .Concat(new WorldTaskGenerator(world).Generate(WorldSplits.HeldOut, heldOutTasks)));
        app.MapPost("/v1/chat/completions", server.HandleOpenAIAsync);
        app.MapPost("/openai/deployments/{deployment}/chat/completions", server.HandleAzureAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var root = address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal);
        server.Endpoint = new Uri(root + "/v1");
        server.AzureEndpoint = new Uri(root);
        return server;
    }

    private async Task HandleOpenAIAsync(HttpContext ctx)
    {
        Interlocked.Increment(ref _requests);
        if (ctx.Request.Headers.Authorization.ToString() != $"Bearer {Key}")
        {
            ctx.Response.StatusCode = 401;
            await ctx.Response.WriteAsync("""{"error":{"message":"bad key","code":"invalid_api_key"}}""");
            return;
        }
        await AnswerAsync(ctx);
    }

    // Azure answers a wrong api-version or deployment with 404 and a wrong key with 401, as the real service does.
    private async Task HandleAzureAsync(HttpContext ctx, string deployment)
    {
        Interlocked.Increment(ref _requests);
        if (deployment != AzureDeployment || ctx.Request.Query["api-version"].ToString() != AzureApiVersion)
        {
            ctx.Response.StatusCode = 404;
            await ctx.Response.WriteAsync("""{"error":{"code":"404","message":"Resource not found"}}""");
            return;
        }
        if (ctx.Request.Headers["api-key"].ToString() != Key)
        {
            ctx.Response.StatusCode = 401;
            await ctx.Response.WriteAsync("""{"error":{"code":"401","message":"Access denied due to invalid subscription key."}}""");
            return;
        }
        Interlocked.Increment(ref _azureRequests);
        await AnswerAsync(ctx);
    }

    private async Task AnswerAsync(HttpContext ctx)
    {
        if (Latency > TimeSpan.Zero) await Task.Delay(Latency, ctx.RequestAborted);
        using var doc = await JsonDocument.ParseAsync(ctx.Request.Body, cancellationToken: ctx.RequestAborted);
        if (RefuseLogprobs && doc.RootElement.TryGetProperty("logprobs", out var logprobs) && logprobs.ValueKind == JsonValueKind.True)
        {
            ctx.Response.StatusCode = 400;
            await ctx.Response.WriteAsync("""{"error":{"message":"You are not allowed to request logprobs from this model","type":"invalid_request_error","param":"logprobs","code":null}}""");
            return;
        }
        // The scripted teacher picks the turn from the user question and the successful tool results; other turns do not matter.
        var messages = doc.RootElement.GetProperty("messages").EnumerateArray()
            .Select(m => (Role: m.GetProperty("role").GetString(), Content: m.TryGetProperty("content", out var c) ? c.GetString() : null))
            .Select(m => m.Role == ChatRoles.User ? ChatMessage.User(m.Content ?? "")
                : m.Role == ChatRoles.Tool ? ChatMessage.Tool("", "", m.Content ?? "")
                : null)
            .OfType<ChatMessage>()
            .ToList();
        var turn = await _teacher.CompleteAsync(new TeacherRequest { Messages = messages }, ctx.RequestAborted);
        var message = new JsonObject { ["role"] = "assistant", ["content"] = turn.Content };
        if (turn.ToolCalls.Count > 0)
        {
            message["tool_calls"] = new JsonArray(turn.ToolCalls.Select(c => (JsonNode)new JsonObject
            {
                ["id"] = c.Id,
                ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = c.Name, ["arguments"] = c.Arguments },
            }).ToArray());
        }
        var body = new JsonObject
        {
            ["id"] = "chatcmpl-scripted",
            ["object"] = "chat.completion",
            ["created"] = 1,
            ["model"] = "world-teacher",
            ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = message, ["finish_reason"] = Truncate ? "length" : turn.ToolCalls.Count > 0 ? "tool_calls" : "stop" }),
            ["usage"] = new JsonObject { ["prompt_tokens"] = 100, ["completion_tokens"] = 20, ["total_tokens"] = 120 },
        };
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(body.ToJsonString());
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(cts.Token);
        await _app.DisposeAsync();
    }
}
