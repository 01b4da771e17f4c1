using Distill.Teachers.Tests.FaultServer;

namespace Distill.Teachers.Tests;

public sealed class TeacherErrorKindTests
{
    [Theory]
    [InlineData(400, "invalid_request_error", null, null, "You are not allowed to request logprobs from this model", TeacherErrorKind.LogprobsRefused)]
    [InlineData(400, "invalid_request_error", "unsupported_parameter", "logprobs", "Unsupported parameter: 'logprobs' is not supported with this model.", TeacherErrorKind.LogprobsRefused)]
    [InlineData(404, "invalid_request_error", "model_not_found", null, "The model `gpt-5-typo` does not exist or you do not have access to it.", TeacherErrorKind.ModelNotFound)]
    [InlineData(404, null, "DeploymentNotFound", null, "The API deployment for this resource does not exist.", TeacherErrorKind.ModelNotFound)]
    [InlineData(404, null, null, null, "The model `llama-3-70b` does not exist.", TeacherErrorKind.ModelNotFound)]
    [InlineData(404, null, "404", null, "Resource not found (api-version '2099-01-01' is not supported)", TeacherErrorKind.ApiVersion)]
    [InlineData(400, null, "BadRequest", null, "Unsupported api version: 2023-01-01", TeacherErrorKind.ApiVersion)]
    [InlineData(400, "invalid_request_error", "context_length_exceeded", "messages", "This model's maximum context length is 128000 tokens.", TeacherErrorKind.ContextLength)]
    [InlineData(400, null, "content_filter", null, "The response was filtered", TeacherErrorKind.ContentFilter)]
    [InlineData(400, "invalid_request_error", "invalid_value", "temperature", "temperature must be at most 2", TeacherErrorKind.Other)]
    public void Classify_reads_code_and_param_first_and_the_usual_phrases_second(int status, string? type, string? code, string? param, string message, TeacherErrorKind expected) =>
        Assert.Equal(expected, TeacherErrorKinds.Classify(status, type, code, param, message));

    [Fact]
    public void Signature_ignores_the_message_when_the_server_names_the_error_and_blanks_numbers_when_it_does_not()
    {
        var a = new TeacherRequestException("t", "maximum context length is 4096 tokens, you asked 5000", null, 400, "context_length_exceeded", "invalid_request_error", "messages");
        var b = new TeacherRequestException("t", "maximum context length is 4096 tokens, you asked 7000", null, 400, "context_length_exceeded", "invalid_request_error", "messages");
        var c = new TeacherRequestException("t", "bad field 12", null, 400);
        var d = new TeacherRequestException("t", "bad field 345", null, 400);
        var e = new TeacherRequestException("t", "other problem", null, 400);

        Assert.Equal(a.Signature, b.Signature);
        Assert.Equal(c.Signature, d.Signature);
        Assert.NotEqual(c.Signature, e.Signature);
        Assert.NotEqual(a.Signature, c.Signature);
    }

    /// <summary>No retries and long timeouts: these tests are about what the server answers, not about when (CI machines are slow).</summary>
    private static TeacherOptions Patient(FaultServer.FaultServer server)
    {
        var options = TestTeachers.Options(server);
        options.MaxRetries = 0;
        options.AttemptTimeout = TimeSpan.FromSeconds(60);
        options.TotalTimeout = TimeSpan.FromSeconds(120);
        return options;
    }

    [Fact]
    public async Task A_refused_logprobs_request_is_a_request_error_of_kind_logprobs_refused_with_its_param()
    {
        await using var server = await TestTeachers.StartServer(o => o.RefuseLogprobs = true);
        using var registry = TestTeachers.Registry(null, Patient(server));

        var e = await Assert.ThrowsAsync<TeacherRequestException>(() =>
            registry.Get("primary").CompleteAsync(TestTeachers.Ask("x") with { Logprobs = true, TopLogprobs = 5 }));

        Assert.Equal(TeacherErrorKind.LogprobsRefused, e.Kind);
        Assert.Equal("logprobs", e.ErrorParam);
        Assert.Equal("invalid_request_error", e.ErrorType);
        Assert.False(e.IsFatal);
        Assert.Equal(1, server.RequestCount); // a 400 is not retried
    }

    [Fact]
    public async Task Logprobs_optional_resends_without_logprobs_keeps_the_text_and_stops_asking_after_the_first_refusal()
    {
        await using var server = await TestTeachers.StartServer(o => o.RefuseLogprobs = true);
        using var registry = TestTeachers.Registry(null, Patient(server));
        var logs = new LogSink();
        var teacher = new LogprobsOptionalTeacher(registry.Get("primary"), logs.Factory.CreateLogger("test"));

        var first = await teacher.CompleteAsync(TestTeachers.Ask("one") with { Logprobs = true, TopLogprobs = 5 });
        var second = await teacher.CompleteAsync(TestTeachers.Ask("two") with { Logprobs = true, TopLogprobs = 5 });

        Assert.Equal("echo: one", first.Content);
        Assert.Equal("echo: two", second.Content);
        Assert.Empty(first.Logprobs);
        Assert.Equal([400, 200, 200], server.Requests.Select(r => r.Status));
        Assert.Equal(1, teacher.Refusals);
        Assert.Equal(2, teacher.AnsweredWithoutLogprobs);
        Assert.Single(logs.Lines, l => l.Contains("refuses logprobs", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Logprobs_optional_leaves_a_teacher_that_gives_logprobs_alone()
    {
        await using var server = await TestTeachers.StartServer();
        using var registry = TestTeachers.Registry(null, Patient(server));
        var teacher = new LogprobsOptionalTeacher(registry.Get("primary"));

        var response = await teacher.CompleteAsync(TestTeachers.Ask("a b c") with { Logprobs = true, TopLogprobs = 2 });

        Assert.NotEmpty(response.Logprobs);
        Assert.Equal(0, teacher.AnsweredWithoutLogprobs);
    }

    [Fact]
    public void Worst_case_cost_bounds_prompt_bytes_and_max_tokens_at_the_highest_prices_of_the_chain()
    {
        var request = new TeacherRequest { Messages = [Distill.Core.Samples.ChatMessage.User("héllo")], MaxTokens = 100 };
        var cheap = new TeacherOptions { Name = "a", Provider = "openai-compatible", Endpoint = "http://x/v1", Model = "m", InputPricePer1M = 1, OutputPricePer1M = 4 };
        var dear = new TeacherOptions { Name = "b", Provider = "openai-compatible", Endpoint = "http://x/v1", Model = "m", InputPricePer1M = 3, OutputPricePer1M = 2 };

        // "héllo" is 6 UTF-8 bytes; 8 framing for the message and 8 for the reply: 22 prompt tokens at most.
        Assert.Equal(22, TokenEstimator.PromptTokensUpperBound(request));
        Assert.Equal((22 * 3 + 100 * 4) / 1e6, WorstCaseCost.Highest([cheap, dear]).Of(request), 12);
        Assert.Throws<Distill.Core.Errors.DistillException>(() => WorstCaseCost.Highest([cheap]).Of(request with { MaxTokens = null }));
    }
}
