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
/// A minimal OpenAI-compatible endpoint on loopback for `bench generate`: a fixed answer after a set latency, and an
/// optional requests-per-minute limit enforced like a real provider (429 with Retry-After past it), counting the 429s.
/// </summary>
public sealed class BenchTeacherServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Queue<DateTime> _window = new();
    private int _rejected;

    private BenchTeacherServer(WebApplication app) => _app = app;

    public Uri Endpoint { get; private set; } = null!;
    public int Rejected => _rejected;

    public static async Task<BenchTeacherServer> StartAsync(TimeSpan latency, int? rpm)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new BenchTeacherServer(app);
        var body = new JsonObject
        {
            ["id"] = "chatcmpl-bench",
            ["object"] = "chat.completion",
            ["created"] = 0,
            ["model"] = "bench",
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = "ok" },
                ["finish_reason"] = "stop",
            }),
            ["usage"] = new JsonObject { ["prompt_tokens"] = 10, ["completion_tokens"] = 1, ["total_tokens"] = 11 },
        }.ToJsonString();
        app.MapPost("/v1/chat/completions", async (HttpContext context) =>
        {
            if (rpm is { } limit && !server.Admit(limit))
            {
                Interlocked.Increment(ref server._rejected);
                context.Response.StatusCode = 429;
                context.Response.Headers["Retry-After"] = "1";
                return;
            }
            if (latency > TimeSpan.Zero)
            {
                await Task.Delay(latency);
            }
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(body);
        });
        await app.StartAsync();
        server.Endpoint = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/v1");
        return server;
    }

    /// <summary>Sliding one-minute window, as providers count requests per minute.</summary>
    private bool Admit(int rpm)
    {
        lock (_window)
        {
            var now = DateTime.UtcNow;
            while (_window.Count > 0 && now - _window.Peek() > TimeSpan.FromMinutes(1))
            {
                _window.Dequeue();
            }
            if (_window.Count >= rpm)
            {
                return false;
            }
            _window.Enqueue(now);
            return true;
        }
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
