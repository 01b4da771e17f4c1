using System.Net;
using Distill.Core.Configuration;

namespace Distill.Server.Hosting;

/// <summary>`distill serve` settings (appsettings.json section "Serve").</summary>
public sealed class ServeOptions : IValidatableOptions
{
    /// <summary>Address to bind. Loopback by default; any other address requires an API key.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>TCP port to listen on; 0 lets the system pick a free one (the address is printed at start-up).</summary>
    public int Port { get; set; } = 8088;

    /// <summary>Environment variable that holds the API key clients must send (Bearer or api-key header).</summary>
    public string ApiKeyEnv { get; set; } = "DISTILL_SERVE_API_KEY";

    /// <summary>Requests decoded together in one batched forward pass.</summary>
    public int MaxBatchSize { get; set; } = 8;

    /// <summary>Requests waiting beyond this are refused with 429 rather than queued without bound.</summary>
    public int MaxQueuedRequests { get; set; } = 256;

    /// <summary>
    /// Under tool_choice "auto", a tool call the model opens is constrained to the tools' JSON schemas (the model still decides
    /// whether and which tool to call). false serves "auto" replies exactly as sampled.
    /// </summary>
    public bool GuideToolCalls { get; set; } = true;

    /// <summary>
    /// Copies of the model decoding batches in parallel, each on its own thread. 0 = automatic: one per CPU core up to 4 on
    /// CPU, where a decode step runs on one thread and small models are cheap to hold twice; 1 on a GPU, which runs one batch
    /// at a time anyway. Each copy holds the full weights: set 1 for a model that barely fits in memory.
    /// </summary>
    public int DecodeWorkers { get; set; }

    /// <summary><see cref="DecodeWorkers"/> for a device, with 0 resolved.</summary>
    public static int ResolveDecodeWorkers(int configured, bool onCpu) =>
        configured > 0 ? configured : onCpu ? Math.Clamp(Environment.ProcessorCount, 1, 4) : 1;

    public bool IsLoopback => Host is "localhost" || (IPAddress.TryParse(Host, out var address) && IPAddress.IsLoopback(address));

    public IEnumerable<ConfigurationProblem> Validate(string path)
    {
        if (Port is < 0 or > 65535)
        {
            yield return new($"{path}:{nameof(Port)}", null, $"{Port} is not a TCP port (0-65535)");
        }
        if (MaxBatchSize < 1)
        {
            yield return new($"{path}:{nameof(MaxBatchSize)}", null, "must be at least 1");
        }
        if (DecodeWorkers < 0)
        {
            yield return new($"{path}:{nameof(DecodeWorkers)}", null, "must be 0 (automatic) or more");
        }
        if (MaxQueuedRequests < 1)
        {
            yield return new($"{path}:{nameof(MaxQueuedRequests)}", null, "must be at least 1");
        }
        if (string.IsNullOrWhiteSpace(ApiKeyEnv))
        {
            yield return new($"{path}:{nameof(ApiKeyEnv)}", null, "must name an environment variable");
        }
    }
}
