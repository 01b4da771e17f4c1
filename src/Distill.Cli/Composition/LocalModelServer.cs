using System.Security.Cryptography;
using Distill.Server.Engine;
using Distill.Server.Hosting;
using Distill.Teachers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TorchSharp;

namespace Distill.Cli.Composition;

/// <summary>
/// A model folder served by Distill's own OpenAI-compatible server on a free loopback port, inside this process: what
/// `distill serve` runs, so evaluation and the quickstart talk to local models through the same client code as to Azure.
/// </summary>
public sealed class LocalModelServer : IAsyncDisposable
{
    private readonly ServedModel _model;
    private readonly LlamaChatEngine _engine;
    private readonly WebApplication _app;

    private LocalModelServer(ServedModel model, LlamaChatEngine engine, WebApplication app, string name, Uri endpoint)
    {
        _model = model;
        _engine = engine;
        _app = app;
        Name = name;
        Endpoint = endpoint;
    }

    /// <summary>The model name clients send.</summary>
    public string Name { get; }

    /// <summary>Base URL of the OpenAI API (ends in /v1).</summary>
    public Uri Endpoint { get; }

    /// <summary>Copies of the model decoding in parallel: clients need this many batches' worth of requests in flight to use them.</summary>
    public int DecodeWorkers => _engine.DecodeWorkers;

    public string TokenizerId => _model.Folder.Tokenizer.TokenizerId;

    /// <param name="decodeWorkers">Serve:DecodeWorkers: copies of the model decoding in parallel (0 = automatic for the device).</param>
    public static async Task<LocalModelServer> StartAsync(string modelDir, string name, torch.Device device, int maxBatchSize,
        ILoggerFactory loggerFactory, CancellationToken cancellationToken = default, bool guideToolCalls = true, int decodeWorkers = 0)
    {
        var model = ServedModel.Load(modelDir, device, decodeWorkers);
        var folder = model.Folder;
        LlamaChatEngine? engine = null;
        WebApplication? app = null;
        try
        {
            engine = new LlamaChatEngine(model.Replicas, folder.Tokenizer, folder.Template, name, maxBatchSize, guideToolCalls);
            app = ChatServer.Build(engine, new ServeOptions { Host = "127.0.0.1", Port = 0, MaxBatchSize = maxBatchSize, GuideToolCalls = guideToolCalls },
                apiKey: null, loggerFactory);
            await app.StartAsync(cancellationToken);
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new LocalModelServer(model, engine, app, name, new Uri(address.TrimEnd('/') + "/v1"));
        }
        catch
        {
            if (app is not null) await app.DisposeAsync();
            if (engine is not null) await engine.DisposeAsync();
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Teacher settings that reach this server: no key, no rate limit, a few retries for a busy CPU, and the assistant's
    /// reasoning sent back, so turn after turn the model sees the conversation as training rendered it.
    /// </summary>
    public TeacherOptions TeacherOptions(int maxConcurrency) => new()
    {
        Name = Name,
        Provider = TeacherProviders.OpenAICompatible,
        Endpoint = Endpoint.ToString(),
        Model = Name,
        TokenizerId = TokenizerId,
        MaxConcurrency = maxConcurrency,
        AttemptTimeout = TimeSpan.FromMinutes(10),
        TotalTimeout = TimeSpan.FromMinutes(30),
        MaxRetries = 2,
        SendReasoning = true,
    };

    /// <summary>First 16 hex digits of the SHA-256 of the folder's weights and config: what answers depend on.</summary>
    public static string WeightsIdentity(string modelDir)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in Directory.EnumerateFiles(modelDir, "*.safetensors").Append(Path.Combine(modelDir, "config.json")).Order(StringComparer.Ordinal))
        {
            if (!File.Exists(file)) continue;
            using var stream = File.OpenRead(file);
            var buffer = new byte[1 << 20];
            int read;
            while ((read = stream.Read(buffer, 0, buffer.Length)) > 0) sha.AppendData(buffer, 0, read);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset())[..16];
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
        await _engine.DisposeAsync();
        _model.Dispose();
    }
}
