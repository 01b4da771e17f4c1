namespace Distill.Teachers.Tests;

public sealed class GatewayBenchmarkTests
{
    [Fact]
    public async Task Overhead_benchmark_runs_both_scenarios_against_a_local_server()
    {
        await using var server = await TestTeachers.StartServer();

        var result = await GatewayOverheadBenchmark.MeasureOverheadAsync(TestTeachers.Options(server), requests: 200, concurrency: 16, environment: TestTeachers.Env);

        Assert.Equal(200, result.Bare.Completed);
        Assert.Equal(200, result.Gateway.Completed);
        Assert.Equal(0, result.Gateway.Failed);
        Assert.True(result.Gateway.LatencyP99Ms >= result.Gateway.LatencyP50Ms);
    }

    [Fact]
    public async Task Rate_benchmark_stays_at_or_under_the_rpm_limit_with_200ms_latency()
    {
        await using var server = await TestTeachers.StartServer(o => o.Latency = TimeSpan.FromMilliseconds(200));
        var options = TestTeachers.Options(server);
        options.Rpm = 1200; // 20/s

        var result = await GatewayOverheadBenchmark.MeasureRateAsync(options, TimeSpan.FromSeconds(2), concurrency: 16, environment: TestTeachers.Env);

        // 2 s at 20/s is 40 requests plus a burst of 2; the last 200 ms of starts cannot finish in time.
        Assert.True(result.Stats.Completed is >= 10 and <= 42, $"{result.Stats}");
        Assert.True(result.AchievedRpm <= 1200 * 1.05 + 60, $"achieved {result.AchievedRpm:F0} rpm");
    }
}
