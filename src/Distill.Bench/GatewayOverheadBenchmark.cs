using System.ClientModel.Primitives;
using System.Diagnostics;
using Distill.Core.Samples;
using Distill.Teachers;

namespace Distill.Bench;

/// <summary>One measured scenario.</summary>
/// <param name="LatencyP50Ms">Per-request wall time as the caller sees it (includes queueing in the pipeline).</param>
public sealed record GatewayRunStats(string Scenario, int Completed, int Failed, int Concurrency, TimeSpan Elapsed,
    double RequestsPerSecond, double LatencyMeanMs, double LatencyP50Ms, double LatencyP99Ms);

/// <summary>Bare client vs full gateway on the same zero-latency server.</summary>
/// <param name="OverheadPerRequestUs">Extra wall time per request at this concurrency: (gateway elapsed - bare elapsed) / requests.</param>
/// <param name="OverheadMeanLatencyUs">Extra mean latency per request: gateway mean - bare mean.</param>
public sealed record GatewayOverheadResult(GatewayRunStats Bare, GatewayRunStats Gateway, double OverheadPerRequestUs, double OverheadMeanLatencyUs);

/// <summary>Achieved request rate against an RPM limit.</summary>
public sealed record GatewayRateResult(int RpmLimit, double AchievedRpm, GatewayRunStats Stats)
{
    public double Utilization => AchievedRpm / RpmLimit;
}

/// <summary>
/// Measures what the teacher gateway costs (for <c>distill bench generate</c>): the Polly pipeline, limiters and mapping over a bare
/// <see cref="OpenAIChatTeacher"/> against a zero-latency OpenAI-compatible server, and the rate it achieves under an RPM limit.
/// The server is the caller's (Distill's own <c>serve</c>, the tests' fault server, vLLM, ...).
/// </summary>
public static class GatewayOverheadBenchmark
{
    /// <summary>Runs <paramref name="requests"/> requests at <paramref name="concurrency"/> through the bare client, then through the gateway
    /// (limits opened up so only their bookkeeping is measured), after a warm-up of each.</summary>
    public static async Task<GatewayOverheadResult> MeasureOverheadAsync(TeacherOptions options, int requests = 2000, int concurrency = 64,
        Func<string, string?>? environment = null, PipelineTransport? transport = null, CancellationToken cancellationToken = default)
    {
        var open = Clone(options);
        open.Rpm = null;
        open.Tpm = null;
        open.MaxConcurrency = Math.Max(concurrency, 1);
        var bare = new OpenAIChatTeacher(open, environment, transport);
        using var gateway = new ResilientTeacher(new OpenAIChatTeacher(open, environment, transport), open);

        int warmup = Math.Min(requests, Math.Max(concurrency * 2, 50));
        await RunAsync("warmup-bare", bare, warmup, concurrency, null, cancellationToken).ConfigureAwait(false);
        await RunAsync("warmup-gateway", gateway, warmup, concurrency, null, cancellationToken).ConfigureAwait(false);
        var bareStats = await RunAsync("bare", bare, requests, concurrency, null, cancellationToken).ConfigureAwait(false);
        var gatewayStats = await RunAsync("gateway", gateway, requests, concurrency, null, cancellationToken).ConfigureAwait(false);
        return new GatewayOverheadResult(bareStats, gatewayStats,
            (gatewayStats.Elapsed - bareStats.Elapsed).TotalMicroseconds / Math.Max(1, requests),
            (gatewayStats.LatencyMeanMs - bareStats.LatencyMeanMs) * 1000);
    }

    /// <summary>Keeps <paramref name="concurrency"/> callers busy for <paramref name="duration"/> through a gateway limited to
    /// <see cref="TeacherOptions.Rpm"/> and reports the completed requests per minute.</summary>
    public static async Task<GatewayRateResult> MeasureRateAsync(TeacherOptions options, TimeSpan duration, int concurrency = 64,
        Func<string, string?>? environment = null, PipelineTransport? transport = null, CancellationToken cancellationToken = default)
    {
        if (options.Rpm is not { } rpm) throw new ArgumentException("set Rpm to measure the achieved rate against it", nameof(options));
        var limited = Clone(options);
        limited.MaxConcurrency = Math.Max(concurrency, 1);
        using var gateway = new ResilientTeacher(new OpenAIChatTeacher(limited, environment, transport), limited);
        // Warm up (JIT, connections) outside the measured window; it also drains the limiter's initial burst.
        await RunAsync("warmup", gateway, concurrency, concurrency, null, cancellationToken).ConfigureAwait(false);
        var stats = await RunAsync("rpm-limited", gateway, int.MaxValue, concurrency, duration, cancellationToken).ConfigureAwait(false);
        return new GatewayRateResult(rpm, stats.Completed / stats.Elapsed.TotalMinutes, stats);
    }

    private static async Task<GatewayRunStats> RunAsync(string scenario, ITeacher teacher, int requests, int concurrency, TimeSpan? duration, CancellationToken cancellationToken)
    {
        var request = new TeacherRequest { Messages = [ChatMessage.User("benchmark")], MaxTokens = 16 };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (duration is { } d) stop.CancelAfter(d);
        var latencies = new List<double>[concurrency];
        int issued = 0, failed = 0;
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
        {
            var mine = latencies[w] = [];
            while (!stop.IsCancellationRequested && Interlocked.Increment(ref issued) <= requests)
            {
                long start = Stopwatch.GetTimestamp();
                try
                {
                    await teacher.CompleteAsync(request, stop.Token).ConfigureAwait(false);
                    mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested) { break; }
                catch (TeacherException) { Interlocked.Increment(ref failed); }
            }
        }, CancellationToken.None)).ToArray();
        await Task.WhenAll(workers).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        var elapsed = duration is { } limit && clock.Elapsed > limit ? limit : clock.Elapsed;
        var all = latencies.SelectMany(l => l ?? []).Order().ToArray();
        return new GatewayRunStats(scenario, all.Length, failed, concurrency, elapsed, all.Length / Math.Max(elapsed.TotalSeconds, 1e-9),
            all.Length == 0 ? 0 : all.Average(), Percentile(all, 0.50), Percentile(all, 0.99));
    }

    private static double Percentile(double[] sorted, double q) =>
        sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];

    private static TeacherOptions Clone(TeacherOptions o) => new()
    {
        Name = o.Name,
        Provider = o.Provider,
        Endpoint = o.Endpoint,
        Model = o.Model,
        ApiVersion = o.ApiVersion,
        ApiKeyEnv = o.ApiKeyEnv,
        TokenizerId = o.TokenizerId,
        Rpm = o.Rpm,
        Tpm = o.Tpm,
        MaxConcurrency = o.MaxConcurrency,
        AttemptTimeout = o.AttemptTimeout,
        TotalTimeout = o.TotalTimeout,
        MaxRetries = o.MaxRetries,
        RetryBaseDelay = o.RetryBaseDelay,
        RetryMaxDelay = o.RetryMaxDelay,
        MaxRetryAfter = o.MaxRetryAfter,
        CircuitFailureRatio = o.CircuitFailureRatio,
        CircuitMinimumThroughput = o.CircuitMinimumThroughput,
        CircuitSamplingDuration = o.CircuitSamplingDuration,
        CircuitBreakDuration = o.CircuitBreakDuration,
        InputPricePer1M = o.InputPricePer1M,
        CachedInputPricePer1M = o.CachedInputPricePer1M,
        OutputPricePer1M = o.OutputPricePer1M,
        FallbackTeacher = null,
    };
}
