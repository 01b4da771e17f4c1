using System.Globalization;
using Distill.Core.Errors;

namespace Distill.Teachers.Tests;

public sealed class OptionsAndCostTests
{
    private static TeacherOptions Valid() => new()
    {
        Name = "gpt",
        Provider = TeacherProviders.AzureOpenAI,
        Endpoint = "https://res.openai.azure.com",
        Model = "gpt-4o",
        ApiKeyEnv = "AZURE_OPENAI_KEY",
    };

    [Fact]
    public void Valid_options_have_no_problems()
    {
        Assert.Empty(Valid().Validate());
        Assert.Empty(new TeacherOptions { Name = "local", Endpoint = "http://127.0.0.1:8000/v1", Model = "tiny" }.Validate());
    }

    [Fact]
    public void Validate_lists_every_problem_in_plain_words()
    {
        var o = Valid();
        o.Provider = "anthropic";
        o.Endpoint = "res.openai.azure.com";
        o.Model = "";
        o.Rpm = 0;
        o.AttemptTimeout = TimeSpan.FromMinutes(5);
        o.TotalTimeout = TimeSpan.FromMinutes(1);
        o.FallbackTeacher = "gpt";

        var problems = o.Validate();

        Assert.Contains(problems, p => p.Contains("Provider 'anthropic' is unknown", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("not an absolute http(s) URL", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("Model is empty", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("Rpm must be positive", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("TotalTimeout", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("cannot be the teacher itself", StringComparison.Ordinal));
    }

    [Fact]
    public void An_unsupported_azure_api_version_is_a_problem()
    {
        var o = Valid();
        o.ApiVersion = "2025-01-01-preview";
        Assert.Contains(o.Validate(), p => p.Contains("ApiVersion '2025-01-01-preview' is not supported", StringComparison.Ordinal));
    }

    [Fact]
    public void A_key_pasted_into_ApiKeyEnv_is_refused_without_echoing_it()
    {
        var o = Valid();
        o.ApiKeyEnv = TestTeachers.Key;
        var problem = Assert.Single(o.Validate());
        Assert.Contains("NAME of an environment variable", problem);
        Assert.DoesNotContain(TestTeachers.Key, problem);
    }

    [Fact]
    public void A_missing_key_variable_names_the_variable()
    {
        var e = Assert.Throws<DistillException>(() => new OpenAIChatTeacher(Valid(), environment: _ => null));
        Assert.Contains("AZURE_OPENAI_KEY", e.Message);
        Assert.Contains("which is not set", e.Message);
    }

    [Fact]
    public void Azure_without_a_key_variable_uses_azure_sign_in_and_builds_offline()
    {
        var o = Valid();
        o.ApiKeyEnv = null;
        var teacher = new OpenAIChatTeacher(o, environment: _ => null);
        Assert.Equal(new Distill.Core.Samples.TeacherInfo("azure-openai", "gpt-4o", null), teacher.Info);
    }

    [Fact]
    public void Registry_rejects_duplicate_names_unknown_and_circular_fallbacks()
    {
        var a = Valid(); a.Name = "a"; a.FallbackTeacher = "b";
        var b = Valid(); b.Name = "b"; b.FallbackTeacher = "a";
        var c = Valid(); c.Name = "c"; c.FallbackTeacher = "nobody";
        var c2 = Valid(); c2.Name = "c";

        var problems = TeacherRegistry.Validate([a, b, c, c2]);

        Assert.Contains(problems, p => p.Contains("'c' is used twice", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("FallbackTeacher 'nobody' is not configured", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("fallback chain loops", StringComparison.Ordinal));
        var e = Assert.Throws<DistillException>(() => TeacherRegistry.Create([a, b], environment: TestTeachers.Env));
        Assert.StartsWith("Invalid teacher settings", e.Message);
    }

    [Fact]
    public void Cost_bills_cached_prompt_tokens_at_the_cached_price()
    {
        var cost = new CostCalculator(inputPer1M: 2.50, cachedInputPer1M: 1.25, outputPer1M: 10.00);
        // 1M prompt tokens of which 400k cached, 100k completion tokens.
        Assert.Equal(600_000 * 2.50 / 1e6 + 400_000 * 1.25 / 1e6 + 100_000 * 10.0 / 1e6, cost.Cost(new TeacherUsage(1_000_000, 100_000, 400_000)), 9);
        Assert.Equal(0, cost.Cost(TeacherUsage.Zero));
    }

    [Fact]
    public void Cached_price_defaults_to_the_input_price()
    {
        var cost = new CostCalculator(new TeacherOptions { InputPricePer1M = 3, OutputPricePer1M = 6 });
        Assert.Equal(3, cost.CachedInputPer1M);
        Assert.Equal((1000 * 3 + 10 * 6) / 1e6, cost.Cost(new TeacherUsage(1000, 10, 500)), 12);
    }

    [Fact]
    public void Usage_meter_aggregates_concurrent_records_exactly()
    {
        var meter = new UsageMeter();
        Parallel.For(0, 10_000, i =>
        {
            if (i % 10 == 0) meter.RecordFailure("b");
            else meter.Record(i % 2 == 0 ? "a" : "b", new TeacherUsage(100, 10, 5), 0.001);
        });

        var total = meter.Total;
        Assert.Equal(10_000, total.Requests);
        Assert.Equal(1_000, total.Failures);
        Assert.Equal(900_000, total.PromptTokens);
        Assert.Equal(45_000, total.CachedPromptTokens);
        Assert.Equal(90_000, total.CompletionTokens);
        Assert.Equal(9.0, total.CostUsd, 6);
        Assert.Equal(total.Requests, meter.ByTeacher.Values.Sum(t => t.Requests));
        Assert.True(meter.BudgetExceeded(9.0));
        Assert.False(meter.BudgetExceeded(9.5));
        Assert.False(meter.BudgetExceeded(null));
    }

    [Fact]
    public void Budget_is_exceeded_when_spent_reaches_it()
    {
        Assert.True(Budget.Exceeded(5, 5));
        Assert.False(Budget.Exceeded(4.99, 5));
        Assert.False(Budget.Exceeded(1000, null));
    }

    [Fact]
    public void Token_estimate_is_prompt_chars_over_four_plus_max_tokens()
    {
        var request = new TeacherRequest { Messages = [Distill.Core.Samples.ChatMessage.User(new string('x', 396))], MaxTokens = 50 };
        Assert.Equal(100 + 50, TokenEstimator.Estimate(request));
        Assert.Equal(100 + TokenEstimator.DefaultCompletionTokens, TokenEstimator.Estimate(request with { MaxTokens = null }));
    }

    [Fact]
    public async Task Tpm_limiter_settles_debt_and_credit_on_the_next_acquisition()
    {
        using var limiter = new TokensPerMinuteLimiter(60_000);
        using (await limiter.AcquireAsync(100, CancellationToken.None)) { }
        limiter.Correct(estimatedTokens: 100, actualTokens: 250);
        Assert.Equal(150, limiter.Balance);
        using (var lease = await limiter.AcquireAsync(100, CancellationToken.None)) Assert.True(lease.IsAcquired);
        Assert.Equal(0, limiter.Balance);
        limiter.Correct(100, 20);
        using (var lease = await limiter.AcquireAsync(30, CancellationToken.None)) Assert.True(lease.IsAcquired); // covered by the credit
        Assert.Equal(-50, limiter.Balance);
    }

    [Theory]
    [InlineData("retry-after-ms", "250", 250)]
    [InlineData("x-ms-retry-after-ms", "1500", 1500)]
    [InlineData("Retry-After", "2", 2000)]
    [InlineData("Retry-After", "0.5", 500)]
    public void Retry_after_headers_are_read_in_milliseconds_or_seconds(string header, string value, int expectedMs)
    {
        var delay = RetryAfter.Parse(h => string.Equals(h, header, StringComparison.OrdinalIgnoreCase) ? value : null, DateTimeOffset.UtcNow);
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), delay);
    }

    [Fact]
    public void Retry_after_http_date_is_the_time_until_that_date()
    {
        var now = new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);
        var date = now.AddSeconds(7).ToString("r", CultureInfo.InvariantCulture);
        Assert.Equal(TimeSpan.FromSeconds(7), RetryAfter.Parse(h => h == "Retry-After" ? date : null, now));
        Assert.Equal(TimeSpan.Zero, RetryAfter.Parse(h => h == "Retry-After" ? now.AddSeconds(-3).ToString("r", CultureInfo.InvariantCulture) : null, now));
        Assert.Null(RetryAfter.Parse(_ => null, now));
        Assert.Null(RetryAfter.Parse(h => h == "Retry-After" ? "soon" : null, now));
    }
}
