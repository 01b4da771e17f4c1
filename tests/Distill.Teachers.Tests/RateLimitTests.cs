using Distill.Teachers.Tests.FaultServer;

namespace Distill.Teachers.Tests;

public sealed class RateLimitTests
{
    // The server allows 20 requests in any 1 s window (1200 rpm enforced over 1 s, as Azure checks short windows).
    private static Task<FaultServer.FaultServer> QuotaServer() => TestTeachers.StartServer(o =>
    {
        o.RequestsPerWindow = 20;
        o.RateWindow = TimeSpan.FromSeconds(1);
    });

    [Fact]
    public async Task Client_rpm_limit_below_the_server_quota_gets_no_429s()
    {
        await using var server = await QuotaServer();
        var options = TestTeachers.Options(server);
        options.Rpm = 720; // 12/s in steps of 2 every 167 ms: at most 14 in any second, leaving room for scheduling jitter
        options.MaxRetries = 0;
        using var registry = TestTeachers.Registry(null, options);
        var teacher = registry.Get("primary");

        // 30 requests: more than the server's 20 per second, so an unthrottled burst gets 429s (next test).
        var responses = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => teacher.CompleteAsync(TestTeachers.Ask($"q{i}"))));

        Assert.Equal(30, responses.Length);
        Assert.Equal(0, server.CountStatus(429));
        Assert.Equal(30, server.RequestCount);
        var span = server.Requests.Max(r => r.At) - server.Requests.Min(r => r.At);
        Assert.True(span >= TimeSpan.FromSeconds(2), $"30 requests at 12/s took only {span.TotalMilliseconds} ms");
    }

    [Fact]
    public async Task Without_a_client_rpm_limit_the_same_burst_is_rate_limited_by_the_server()
    {
        await using var server = await QuotaServer();
        var options = TestTeachers.Options(server);
        options.MaxRetries = 0;
        using var registry = TestTeachers.Registry(null, options);
        var teacher = registry.Get("primary");

        var results = await Task.WhenAll(Enumerable.Range(0, 60).Select(async i =>
        {
            try { await teacher.CompleteAsync(TestTeachers.Ask($"q{i}")); return true; }
            catch (TeacherUnavailableException) { return false; }
        }));

        Assert.True(server.CountStatus(429) > 0);
        Assert.Contains(false, results);
    }

    [Fact]
    public async Task Max_concurrency_bounds_requests_in_flight()
    {
        await using var server = await TestTeachers.StartServer(o => o.Latency = TimeSpan.FromMilliseconds(100));
        var options = TestTeachers.Options(server);
        options.MaxConcurrency = 4;
        using var registry = TestTeachers.Registry(null, options);
        var teacher = registry.Get("primary");
        int inFlight = 0, peak = 0;
        var probe = new ProbeTeacher(teacher, () => { var n = Interlocked.Increment(ref inFlight); InterlockedMax(ref peak, n); }, () => Interlocked.Decrement(ref inFlight));

        // The limit is inside the pipeline, so measure at the server: arrivals over time with 100 ms latency.
        await Task.WhenAll(Enumerable.Range(0, 16).Select(i => probe.CompleteAsync(TestTeachers.Ask($"q{i}"))));

        var arrivals = server.Requests.Select(r => r.At).OrderBy(t => t).ToList();
        int maxInWindow = arrivals.Select(t => arrivals.Count(u => u >= t && u < t + TimeSpan.FromMilliseconds(90))).Max();
        Assert.True(maxInWindow <= 4, $"{maxInWindow} requests arrived within 90 ms with MaxConcurrency 4");
        Assert.Equal(16, peak); // callers all waited at once; the pipeline queued them
    }

    [Fact]
    public async Task Tokens_per_minute_limit_is_corrected_from_real_usage()
    {
        await using var server = await TestTeachers.StartServer(o => o.Content = "a b c");
        var options = TestTeachers.Options(server);
        options.Tpm = 600_000;
        using var registry = TestTeachers.Registry(null, options);
        var teacher = registry.Get("primary");

        var request = TestTeachers.Ask("hello", maxTokens: 500);
        var response = await teacher.CompleteAsync(request);

        // Estimated prompt chars/4 + 500; used far fewer: the difference is a credit for the next call.
        int estimate = TokenEstimator.Estimate(request);
        var limiter = ((ResilientTeacher)teacher).TokenLimiter!;
        Assert.Equal(response.Usage.TotalTokens - estimate, limiter.Balance);
        Assert.True(limiter.Balance < -400);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current) { }
    }

    private sealed class ProbeTeacher(ITeacher inner, Action enter, Action exit) : ITeacher
    {
        public string Name => inner.Name;
        public Distill.Core.Samples.TeacherInfo Info => inner.Info;
        public async Task<TeacherResponse> CompleteAsync(TeacherRequest request, CancellationToken cancellationToken = default)
        {
            enter();
            try { return await inner.CompleteAsync(request, cancellationToken); }
            finally { exit(); }
        }
    }
}
