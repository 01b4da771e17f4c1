using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Distill.Core.Errors;
using Distill.Server.Hosting;

namespace Distill.Server.Tests;

/// <summary>Bad requests get OpenAI-style JSON errors with the right status, never a 500 or a stack trace.</summary>
public sealed class ErrorResponseTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private async Task<(HttpStatusCode Status, JsonElement Error)> Post(string path, string body, string? key = ServerFixture.ApiKey)
    {
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("   at ", text);
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.GetProperty("error"));
    }

    [Theory]
    [InlineData("{not json", 400, null)]
    [InlineData("""{"model": "scripted"}""", 400, "messages")]
    [InlineData("""{"model": "scripted", "messages": []}""", 400, "messages")]
    [InlineData("""{"model": "scripted", "messages": [{"role": "wizard", "content": "x"}]}""", 400, "messages[0].role")]
    [InlineData("""{"model": "scripted", "messages": [{"role": "user", "content": "x"}], "temperature": 7}""", 400, "temperature")]
    [InlineData("""{"model": "scripted", "messages": [{"role": "user", "content": "x"}], "top_logprobs": 3}""", 400, "top_logprobs")]
    [InlineData("""{"model": "scripted", "messages": [{"role": "user", "content": "x"}], "logprobs": true, "top_logprobs": 50}""", 400, "top_logprobs")]
    [InlineData("""{"model": "scripted", "messages": [{"role": "user", "content": "x"}], "n": 0}""", 400, "n")]
    [InlineData("""{"model": "scripted", "messages": [{"role": "user", "content": "x"}], "tool_choice": "required"}""", 400, "tool_choice")]
    [InlineData("""{"model": "nope", "messages": [{"role": "user", "content": "x"}]}""", 404, "model")]
    [InlineData("""{"model": "scripted", "messages": [{"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "call_9", "content": "r"}]}""", 422, "messages[1].tool_call_id")]
    public async Task Bad_request_gets_openai_error_with_status_and_param(string body, int status, string? param)
    {
        var (actual, error) = await Post("/v1/chat/completions", body);

        Assert.Equal(status, (int)actual);
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        Assert.Equal(param, error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task Prompt_longer_than_the_context_is_refused_with_context_length_exceeded()
    {
        var words = string.Join(' ', Enumerable.Repeat("word", 80));

        var (status, error) = await Post("/v1/chat/completions", $$"""{"model": "scripted", "messages": [{"role": "user", "content": "{{words}}"}]}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Missing_key_gets_401()
    {
        var (status, error) = await Post("/v1/chat/completions", """{"model": "scripted", "messages": [{"role": "user", "content": "x"}]}""", key: null);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Azure_route_without_api_version_gets_400()
    {
        var (status, error) = await Post("/openai/deployments/scripted/chat/completions", """{"messages": [{"role": "user", "content": "x"}]}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("api-version", error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task Unknown_route_gets_404_json()
    {
        var (status, _) = await Post("/v1/embeddings", "{}");

        Assert.Equal(HttpStatusCode.NotFound, status);
    }

    [Fact]
    public void Binding_beyond_loopback_without_a_key_is_refused()
    {
        var error = Assert.Throws<DistillException>(() =>
            ChatServer.Build(new ScriptedEngine(), new ServeOptions { Host = "0.0.0.0", Port = 0 }, apiKey: null));

        Assert.Contains("DISTILL_SERVE_API_KEY", error.OneLine);
    }
}
