using System.Net;
using System.Text.Json;

namespace Distill.Studio.Tests;

[Collection(StudioCollection.Name)]
public class StudioApiTests(StudioFixture fx)
{
    private static string[] Ids(JsonElement page) =>
        page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("sample").GetProperty("id").GetString()!).ToArray();

    [Fact]
    public async Task Datasets_are_listed_by_key_with_their_counts()
    {
        var datasets = await fx.GetJsonAsync("/api/datasets");

        var store = Assert.Single(datasets.EnumerateArray());
        Assert.Equal(StudioFixture.Dataset, store.GetProperty("key").GetString());
        Assert.Equal(10, store.GetProperty("accepted").GetInt64());
        Assert.Equal(3, store.GetProperty("rejected").GetInt64());
    }

    [Fact]
    public async Task Filters_by_version_teacher_verification_and_source_combine()
    {
        Assert.Equal(["a0", "a2", "a4", "a6", "a8", "r0", "r1", "r2"], Ids(await fx.GetJsonAsync("/api/samples?dataset=store&version=v1")));
        Assert.Equal(["a0", "a2", "a4", "a6", "a8"], Ids(await fx.GetJsonAsync("/api/samples?dataset=store&version=v1&source=accepted")));
        Assert.Equal(["a6", "a8"], Ids(await fx.GetJsonAsync("/api/samples?dataset=store&version=v1&source=accepted&teacher=local/teacher-b")));
        Assert.Equal(["a7", "a8", "a9"], Ids(await fx.GetJsonAsync("/api/samples?dataset=store&verified=false")));
        Assert.Equal(["a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9"], Ids(await fx.GetJsonAsync("/api/samples?dataset=store&template=support&kind=tool_trace&source=accepted")));
    }

    [Fact]
    public async Task Rejects_filter_by_reason_and_carry_it()
    {
        var page = await fx.GetJsonAsync("/api/samples?dataset=store&source=rejected&reason=verifier_failed");

        Assert.Equal(["r1", "r2"], Ids(page));
        Assert.All(page.GetProperty("items").EnumerateArray(), i => Assert.Equal("verifier_failed", i.GetProperty("sample").GetProperty("reject_reason").GetString()));
    }

    [Fact]
    public async Task Full_text_search_needs_every_term_in_some_turn_and_ignores_case()
    {
        Assert.Equal(["a3"], Ids(await fx.GetJsonAsync("/api/samples?dataset=store&q=" + Uri.EscapeDataString("ALERT('XSS')"))));
        Assert.Equal(["a3"], Ids(await fx.GetJsonAsync("/api/samples?dataset=store&q=" + Uri.EscapeDataString("onerror lookup_order"))));
        Assert.Empty(Ids(await fx.GetJsonAsync("/api/samples?dataset=store&q=" + Uri.EscapeDataString("onerror no-such-word"))));
    }

    [Fact]
    public async Task Pages_split_the_matches_and_report_the_total()
    {
        var third = await fx.GetJsonAsync("/api/samples?dataset=store&size=4&page=2");
        var last = await fx.GetJsonAsync("/api/samples?dataset=store&size=4&page=3");

        Assert.Equal(13, third.GetProperty("total").GetInt32());
        Assert.Equal(["a8", "a9", "r0", "r1"], Ids(third));
        Assert.Equal(["r2"], Ids(last));
    }

    [Fact]
    public async Task Facets_count_each_value_over_the_whole_dataset()
    {
        var facets = (await fx.GetJsonAsync("/api/samples?dataset=store&size=1&version=v2")).GetProperty("facets");

        var versions = facets.GetProperty("version").EnumerateArray().ToDictionary(v => v.GetProperty("value").GetString()!, v => v.GetProperty("count").GetInt32());
        Assert.Equal(new Dictionary<string, int> { ["v1"] = 8, ["v2"] = 5 }, versions);
        var reasons = facets.GetProperty("reason").EnumerateArray().Select(v => v.GetProperty("value").GetString()!).ToArray();
        Assert.Equal(["(none)", "verifier_failed", "wrong_tool"], reasons);
    }

    [Fact]
    public async Task A_sample_comes_as_a_conversation_with_reasoning_tool_calls_results_and_token_logprobs()
    {
        var sample = await fx.GetJsonAsync("/api/sample?dataset=store&id=a0");

        var messages = sample.GetProperty("messages").EnumerateArray().ToList();
        var expected = fx.Accepted[0].Messages;
        Assert.Equal(expected.Select(m => m.Role), messages.Select(m => m.GetProperty("role").GetString()));
        var call = messages[2].GetProperty("tool_calls")[0];
        Assert.Equal(expected[2].ToolCalls[0].Name, call.GetProperty("name").GetString());
        Assert.Equal(expected[2].ToolCalls[0].Arguments, call.GetProperty("arguments").GetString());
        Assert.Equal(expected[2].Reasoning, messages[2].GetProperty("reasoning").GetString());
        Assert.Equal(expected[3].ToolCallId, messages[3].GetProperty("tool_call_id").GetString());
        Assert.Equal(expected[3].Content, messages[3].GetProperty("content").GetString());
        var tokens = messages[^1].GetProperty("logprobs");
        Assert.Equal(expected[^1].Logprobs.Count, tokens.GetArrayLength());
        Assert.Equal(expected[^1].Logprobs[0].Token, tokens[0].GetProperty("token").GetString());
        Assert.Equal(2, tokens[0].GetProperty("top").GetArrayLength());
        Assert.Equal(fx.Accepted[0].Answer, sample.GetProperty("answer").GetString());
        Assert.Equal("accepted", sample.GetProperty("source").GetString());
    }

    [Theory]
    [InlineData("/api/sample?dataset=store&id=nope")]
    [InlineData("/api/sample?dataset=..%2F..%2Fetc&id=a0")]
    [InlineData("/api/samples?dataset=elsewhere")]
    [InlineData("/api/nothing-here")]
    public async Task Unknown_datasets_samples_and_routes_are_404_with_a_json_error(string path)
    {
        using var response = await fx.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.False(string.IsNullOrEmpty(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString()));
    }

    [Fact]
    public async Task The_template_page_gets_the_numbers_of_templates_stats()
    {
        var stats = (await fx.GetJsonAsync("/api/templates")).EnumerateArray().ToDictionary(s => s.GetProperty("key").GetString()!);

        Assert.Equal(["support@v1", "support@v2"], stats.Keys.Order());
        Assert.Equal(8, stats["support@v1"].GetProperty("attempted").GetInt32());
        Assert.Equal(5, stats["support@v1"].GetProperty("accepted").GetInt32());
        Assert.Equal(1, stats["support@v1"].GetProperty("rejects_by_reason").GetProperty("wrong_tool").GetInt32());
    }
}
