using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Distill.Server.Tests;

/// <summary>
/// `distill serve` adds what OpenAI's logprobs format lacks: each token's id and the kind of distribution the logprobs describe.
/// OpenAI clients ignore both (<see cref="OpenAiClientTests"/> still pass); Distill's teacher client keeps them.
/// </summary>
public sealed class LogprobTokenIdTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Logprob_entries_and_their_alternatives_carry_token_ids_and_the_logprobs_mode()
    {
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model": "scripted", "messages": [{"role": "user", "content": "where is it"}], "logprobs": true, "top_logprobs": 2}""",
                Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ServerFixture.ApiKey);
        using var response = await http.SendAsync(request);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        var logprobs = body.RootElement.GetProperty("choices")[0].GetProperty("logprobs");
        Assert.Equal("raw_logprobs", logprobs.GetProperty("logprobs_mode").GetString());
        var first = logprobs.GetProperty("content")[0];
        Assert.Equal("echo:", first.GetProperty("token").GetString());
        Assert.Equal(5, first.GetProperty("token_id").GetInt32());
        Assert.Equal([5, 1001], first.GetProperty("top_logprobs").EnumerateArray().Select(t => t.GetProperty("token_id").GetInt32()));
        // The OpenAI fields are all still there.
        Assert.Equal(-0.25, first.GetProperty("logprob").GetDouble(), 6);
        Assert.Equal(5, first.GetProperty("bytes").GetArrayLength());
    }
}
