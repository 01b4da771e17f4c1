using Distill.Teachers;

namespace Distill.Bench.Tests;

public sealed class GatewayBenchmarkTests
{
    private static TeacherOptions Options(Uri endpoint) => new()
    {
        Name = "bench",
        Provider = TeacherProviders.OpenAICompatible,
        Endpoint = endpoint.ToString(),
        Model = "bench",
    };

    [Fact]
    public async Task Overhead_benchmark_runs_both_scenarios_against_a_local_server()
    {
        await using var server = await BenchTeacherServer.StartAsync(TimeSpan.Zero, rpm: null);

        var result = await GatewayOverheadBenchmark.MeasureOverheadAsync(Options(server.Endpoint), requests: 200, concurrency: 16);

        Assert.Equal(200, result.Bare.Completed);
        Assert.Equal(200, result.Gateway.Completed);
        Assert.Equal(0, result.Gateway.Failed);
        Assert.True(result.Gateway.LatencyP99Ms >= result.Gateway.LatencyP50Ms);
    }

    [Fact]
    public async Task Rate_benchmark_stays_at_or_under_the_rpm_limit_with_200ms_latency()
    {
        await using var server = await BenchTeacherServer.StartAsync(TimeSpan.FromMilliseconds(200), rpm: 1200);
        var options = Options(server.Endpoint);
        options.Rpm = 1200; // 20/s

        var result = await GatewayOverheadBenchmark.MeasureRateAsync(options, TimeSpan.FromSeconds(2), concurrency: 16);

        // 2 s at 20/s is 40 requests plus a burst of 2; the last 200 ms of starts cannot finish in time.
        Assert.True(result.Stats.Completed is >= 10 and <= 42, $"{result.Stats}");
        Assert.True(result.AchievedRpm <= 1200 * 1.05 + 60, $"achieved {result.AchievedRpm:F0} rpm");
    }
}
