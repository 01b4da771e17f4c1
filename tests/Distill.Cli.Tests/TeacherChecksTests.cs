using System.Net;
using Distill.Cli.Commands;
using Distill.Teachers;

namespace Distill.Cli.Tests;

[Collection("environment")]
public sealed class TeacherChecksTests
{
    private const string Secret = "sk-live-SECRET-987";

    private sealed class StubHandler(HttpStatusCode status) : HttpMessageHandler
    {
        public HttpRequestMessage? Seen;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Seen = request;
            return Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent($"{{\"error\": \"bad key {Secret}\"}}") });
        }
    }

    private static TeacherOptions Teacher(string provider = TeacherProviders.OpenAICompatible) => new()
    {
        Name = "t",
        Provider = provider,
        Endpoint = "https://teacher.example/v1",
        Model = "m",
        ApiKeyEnv = "DISTILL_TEST_TEACHER_KEY",
    };

    [Fact]
    public async Task Missing_key_variable_is_named_and_nothing_is_sent()
    {
        Environment.SetEnvironmentVariable("DISTILL_TEST_TEACHER_KEY", null);
        var handler = new StubHandler(HttpStatusCode.OK);

        var check = Assert.Single(await TeacherChecks.RunAsync([Teacher()], CancellationToken.None, handler));

        Assert.Equal(DoctorCommand.Status.Failed, check.Status);
        Assert.Contains("DISTILL_TEST_TEACHER_KEY", check.Detail);
        Assert.Null(handler.Seen);
    }

    [Fact]
    public async Task Rejected_key_fails_without_ever_showing_the_key()
    {
        Environment.SetEnvironmentVariable("DISTILL_TEST_TEACHER_KEY", Secret);
        try
        {
            var handler = new StubHandler(HttpStatusCode.Unauthorized);

            var check = Assert.Single(await TeacherChecks.RunAsync([Teacher(TeacherProviders.AzureOpenAI)], CancellationToken.None, handler));

            Assert.Equal(DoctorCommand.Status.Failed, check.Status);
            Assert.DoesNotContain(Secret, check.Detail);
            // Azure shape: the key goes in the api-key header, the api-version on the query string.
            Assert.Equal(Secret, handler.Seen!.Headers.GetValues("api-key").Single());
            Assert.Contains("api-version=2024-10-21", handler.Seen.RequestUri!.Query);
        }
        finally
        {
            Environment.SetEnvironmentVariable("DISTILL_TEST_TEACHER_KEY", null);
        }
    }

    [Fact]
    public async Task Reachable_teacher_is_ok_and_uses_bearer_auth()
    {
        Environment.SetEnvironmentVariable("DISTILL_TEST_TEACHER_KEY", Secret);
        try
        {
            var handler = new StubHandler(HttpStatusCode.OK);

            var check = Assert.Single(await TeacherChecks.RunAsync([Teacher()], CancellationToken.None, handler));

            Assert.Equal(DoctorCommand.Status.Ok, check.Status);
            Assert.Equal("Bearer", handler.Seen!.Headers.Authorization!.Scheme);
            Assert.Equal("https://teacher.example/v1/models", handler.Seen.RequestUri!.ToString());
        }
        finally
        {
            Environment.SetEnvironmentVariable("DISTILL_TEST_TEACHER_KEY", null);
        }
    }
}
