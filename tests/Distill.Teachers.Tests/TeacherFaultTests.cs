using System.Diagnostics;
using Distill.Teachers.Tests.FaultServer;

namespace Distill.Teachers.Tests;

public sealed class TeacherFaultTests
{
    [Fact]
    public async Task Rate_limited_429_with_Retry_After_is_retried_after_at_least_that_delay_and_succeeds()
    {
        await using var server = await TestTeachers.StartServer(o => o.RetryAfter = "1");
        server.Enqueue(Fault.RateLimited);
        using var registry = TestTeachers.Registry(null, TestTeachers.Options(server));

        var clock = Stopwatch.StartNew();
        var response = await registry.Get("primary").CompleteAsync(TestTeachers.Ask("hello"));

        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.95), $"retried after {clock.Elapsed.TotalMilliseconds} ms");
        Assert.Equal("echo: hello", response.Content);
        Assert.Equal(2, response.Attempts);
        Assert.Equal(2, server.RequestCount);
    }

    [Fact]
    public async Task Unavailable_503_with_retry_after_ms_waits_that_many_milliseconds()
    {
        await using var server = await TestTeachers.StartServer(o => o.RetryAfterMs = 400);
        server.Enqueue(Fault.Unavailable);
        using var registry = TestTeachers.Registry(null, TestTeachers.Options(server));

        var clock = Stopwatch.StartNew();
        var response = await registry.Get("primary").CompleteAsync(TestTeachers.Ask("hi"));

        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(380), $"retried after {clock.Elapsed.TotalMilliseconds} ms");
        Assert.True(response.IsUsable);
        Assert.Equal([503, 200], server.Requests.Select(r => r.Status));
    }

    [Fact]
    public async Task Server_errors_500_and_502_are_retried_until_success()
    {
        await using var server = await TestTeachers.StartServer();
        server.Enqueue(Fault.ServerError, Fault.BadGateway);
        using var registry = TestTeachers.Registry(null, TestTeachers.Options(server));

        var response = await registry.Get("primary").CompleteAsync(TestTeachers.Ask("x"));

        Assert.Equal(3, response.Attempts);
        Assert.Equal([500, 502, 200], server.Requests.Select(r => r.Status));
    }

    [Fact]
    public async Task Bad_request_400_is_not_retried_and_gives_a_clean_one_line_message()
    {
        await using var server = await TestTeachers.StartServer();
        server.Enqueue(Fault.BadRequest);
        using var registry = TestTeachers.Registry(null, TestTeachers.Options(server));

        var e = await Assert.ThrowsAsync<TeacherRequestException>(() => registry.Get("primary").CompleteAsync(TestTeachers.Ask("x")));

        Assert.Equal(1, server.RequestCount);
        Assert.Equal(400, e.StatusCode);
        Assert.False(e.IsFatal);
        Assert.Equal(TeacherRejectReasons.RequestRejected, e.RejectReason);
        Assert.Equal("context_length_exceeded", e.ErrorCode);
        Assert.DoesNotContain('\n', e.OneLine);
        Assert.StartsWith("Teacher 'primary' rejected the request (HTTP 400 Bad Request): This model's maximum context length", e.Message);
    }

    [Fact]
    public async Task Prompt_filtered_400_is_classified_as_content_filter()
    {
        await using var server = await TestTeachers.StartServer();
        server.Enqueue(Fault.PromptFiltered);
        using var registry = TestTeachers.Registry(null, TestTeachers.Options(server));

        var e = await Assert.ThrowsAsync<TeacherRequestException>(() => registry.Get("primary").CompleteAsync(TestTeachers.Ask("x")));

        Assert.Equal(TeacherRejectReasons.ContentFilter, e.RejectReason);
        Assert.Equal(1, server.RequestCount);
    }

    [Fact]
    public async Task Wrong_key_401_is_not_retried_is_fatal_and_never_shows_the_key()
    {
        // The server expects another key and echoes the one it got, as OpenAI once did.
        await using var server = await TestTeachers.StartServer(o => o.ApiKey = "sk-the-right-one");
        var logs = new LogSink();
        using var registry = TestTeachers.Registry(logs, TestTeachers.Options(server));

        var e = await Assert.ThrowsAsync<TeacherRequestException>(() => registry.Get("primary").CompleteAsync(TestTeachers.Ask("x")));

        Assert.Equal(1, server.RequestCount);
        Assert.Equal(401, e.StatusCode);
        Assert.True(e.IsFatal);
        Assert.Contains("HTTP 401", e.Message);
        Assert.Contains("Incorrect API key provided: ***", e.Message);
        Assert.Contains(TestTeachers.KeyEnv, e.Hint);
        Assert.DoesNotContain(TestTeachers.Key, e.ToString());
        Assert.DoesNotContain(logs.Lines, l => l.Contains(TestTeachers.Key, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Hang_hits_the_attempt_timeout_then_the_retry_succeeds()
    {
        await using var server = await TestTeachers.StartServer();
        server.Enqueue(Fault.Hang);
        var options = TestTeachers.Options(server);
        options.AttemptTimeout = TimeSpan.FromMilliseconds(300);
        using var registry = TestTeachers.Registry(null, options);

        var clock = Stopwatch.StartNew();
        var response = await registry.Get("primary").CompleteAsync(TestTeachers.Ask("still there?"));

        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(290));
        Assert.Equal("echo: still there?", response.Content);
        Assert.True(response.Attempts >= 2);
        Assert.Equal(Fault.Hang, server.Requests[0].Fault);
    }

    [Fact]
    public async Task Connection_dropped_mid_response_is_retried()
    {
        await using var server = await TestTeachers.StartServer();
        server.Enqueue(Fault.DropConnection, Fault.DropConnection);
        using var registry = TestTeachers.Registry(null, TestTeachers.Options(server));

        var response = await registry.Get("primary").CompleteAsync(TestTeachers.Ask("x"));

        Assert.Equal(3, response.Attempts);
        Assert.Equal(3, server.RequestCount);
    }

    [Fact]
    public async Task Malformed_json_body_is_classified_as_malformed_response_not_a_crash()
    {
        await using var server = await TestTeachers.StartServer();
        server.Enqueue(Fault.MalformedJson);
        using var registry = TestTeachers.Registry(null, TestTeachers.Options(server));

        var e = await Assert.ThrowsAsync<TeacherMalformedResponseException>(() => registry.Get("primary").CompleteAsync(TestTeachers.Ask("x")));

        Assert.Equal(TeacherRejectReasons.MalformedResponse, e.RejectReason);
        Assert.Equal(1, server.RequestCount);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public async Task Content_filter_finish_is_returned_with_a_reject_reason()
    {
        await using var server = await TestTeachers.StartServer();
        server.Enqueue(Fault.ContentFilter);
        using var registry = TestTeachers.Registry(null, TestTeachers.Options(server));

        var response = await registry.Get("primary").CompleteAsync(TestTeachers.Ask("x"));

        Assert.Equal("content_filter", response.FinishReason);
        Assert.Equal(TeacherRejectReasons.ContentFilter, response.RejectReason);
        Assert.False(response.IsUsable);
        Assert.Equal(1, server.RequestCount);
    }

    [Fact]
    public async Task Length_finish_is_returned_as_truncated()
    {
        await using var server = await TestTeachers.StartServer();
        server.Enqueue(Fault.Length);
        using var registry = TestTeachers.Registry(null, TestTeachers.Options(server));

        var response = await registry.Get("primary").CompleteAsync(TestTeachers.Ask("x"));

        Assert.Equal(TeacherRejectReasons.Truncated, response.RejectReason);
        Assert.Equal("This answer was cut off in the mid", response.Content);
    }

    [Fact]
    public async Task Exhausted_retries_end_in_teacher_unavailable()
    {
        await using var server = await TestTeachers.StartServer(o => o.DefaultFault = Fault.ServerError);
        var options = TestTeachers.Options(server);
        options.MaxRetries = 2;
        using var registry = TestTeachers.Registry(null, options);

        var e = await Assert.ThrowsAsync<TeacherUnavailableException>(() => registry.Get("primary").CompleteAsync(TestTeachers.Ask("x")));

        Assert.Equal(3, server.RequestCount);
        Assert.Equal(TeacherRejectReasons.Unavailable, e.RejectReason);
        Assert.Equal(500, e.StatusCode);
        Assert.Contains("after 3 attempts", e.Message);
        Assert.Equal(1, registry.Meter.Total.Failures);
    }

    [Fact]
    public async Task Circuit_opens_after_repeated_failures_and_the_fallback_teacher_answers()
    {
        await using var down = await TestTeachers.StartServer(o => o.DefaultFault = Fault.ServerError);
        await using var backup = await TestTeachers.StartServer(o => o.Content = "from backup");
        var primary = TestTeachers.Options(down, "primary");
        primary.MaxRetries = 1;
        primary.CircuitMinimumThroughput = 2;
        primary.CircuitFailureRatio = 0.5;
        primary.FallbackTeacher = "backup";
        var logs = new LogSink();
        using var registry = TestTeachers.Registry(logs, primary, TestTeachers.Options(backup, "backup"));
        var teacher = registry.Get("primary");

        var first = await teacher.CompleteAsync(TestTeachers.Ask("x"));
        int primaryCallsAfterFirst = down.RequestCount;
        var second = await teacher.CompleteAsync(TestTeachers.Ask("y"));

        Assert.Equal("backup", first.TeacherName);
        Assert.Equal("from backup", second.Content);
        Assert.Equal(2, primaryCallsAfterFirst);
        Assert.Equal(primaryCallsAfterFirst, down.RequestCount); // circuit open: the primary is not called again
        Assert.Contains(logs.Lines, l => l.Contains("circuit opened", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, l => l.Contains("using fallback teacher backup", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Total_timeout_ends_in_teacher_unavailable()
    {
        await using var server = await TestTeachers.StartServer(o => o.DefaultFault = Fault.Hang);
        var options = TestTeachers.Options(server);
        options.AttemptTimeout = TimeSpan.FromMilliseconds(200);
        options.TotalTimeout = TimeSpan.FromMilliseconds(500);
        options.MaxRetries = 10;
        using var registry = TestTeachers.Registry(null, options);

        var e = await Assert.ThrowsAsync<TeacherUnavailableException>(() => registry.Get("primary").CompleteAsync(TestTeachers.Ask("x")));

        Assert.Contains("total timeout", e.Message);
    }

    [Fact]
    public async Task Caller_cancellation_propagates_as_OperationCanceledException()
    {
        await using var server = await TestTeachers.StartServer(o => o.DefaultFault = Fault.Hang);
        using var registry = TestTeachers.Registry(null, TestTeachers.Options(server));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => registry.Get("primary").CompleteAsync(TestTeachers.Ask("x"), cts.Token));
        Assert.True(server.RequestCount <= 1); // cancellation is not retried
    }

    [Fact]
    public async Task Api_key_never_appears_in_exceptions_or_logs_across_faults()
    {
        await using var server = await TestTeachers.StartServer(o => o.RetryAfterMs = 1);
        var logs = new LogSink();
        var options = TestTeachers.Options(server);
        options.MaxRetries = 1;
        options.AttemptTimeout = TimeSpan.FromMilliseconds(200);
        using var registry = TestTeachers.Registry(logs, options);
        var teacher = registry.Get("primary");
        var texts = new List<string>();

        foreach (var pair in new[] { (Fault.RateLimited, Fault.RateLimited), (Fault.ServerError, Fault.Unavailable), (Fault.DropConnection, Fault.Hang), (Fault.MalformedJson, Fault.None), (Fault.BadRequest, Fault.None) })
        {
            server.Enqueue(pair.Item1, pair.Item2);
            try { await teacher.CompleteAsync(TestTeachers.Ask("x")); }
            catch (TeacherException e) { texts.Add(e.ToString()); texts.Add(e.OneLine); }
        }
        server.Options.ApiKey = "sk-another";
        try { await teacher.CompleteAsync(TestTeachers.Ask("x")); }
        catch (TeacherException e) { texts.Add(e.ToString()); texts.Add(e.OneLine); }

        Assert.True(texts.Count >= 10, $"only {texts.Count} error texts");
        Assert.NotEmpty(logs.Lines);
        Assert.DoesNotContain(texts.Concat(logs.Lines), t => t.Contains(TestTeachers.Key, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Random_faults_at_a_30_percent_rate_are_all_absorbed_by_retries()
    {
        await using var server = await TestTeachers.StartServer(o =>
        {
            o.RandomFaultRate = 0.3;
            o.Seed = 7;
            o.RetryAfterMs = 5;
        });
        var options = TestTeachers.Options(server);
        options.MaxRetries = 8;
        using var registry = TestTeachers.Registry(null, options);
        var teacher = registry.Get("primary");

        var responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => teacher.CompleteAsync(TestTeachers.Ask($"q{i}"))));

        Assert.All(responses, r => Assert.True(r.IsUsable));
        Assert.Equal(Enumerable.Range(0, 40).Select(i => $"echo: q{i}"), responses.Select(r => r.Content));
        Assert.True(server.RequestCount > 40, "the seeded fault rate injected no faults");
        Assert.Equal(40, registry.Meter.Total.Requests);
        Assert.Equal(0, registry.Meter.Total.Failures);
    }
}
