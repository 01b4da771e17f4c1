using System.Text.Json;
using Distill.Core.Samples;
using Distill.Teachers.Tests.FaultServer;

namespace Distill.Teachers.Tests;

public sealed class TeacherProtocolTests
{
    private const string Tools = """
        [{"type":"function","function":{"name":"lookup_order","description":"Find an order","parameters":{"type":"object","properties":{"order_id":{"type":"integer"}},"required":["order_id"]}}},
         {"type":"function","function":{"name":"track_shipment","parameters":{"type":"object","properties":{}}}}]
        """;

    [Fact]
    public async Task Azure_route_sends_deployment_path_api_version_and_api_key_header()
    {
        await using var server = await TestTeachers.StartServer();
        var options = TestTeachers.Options(server, "azure", TeacherProviders.AzureOpenAI);
        options.Model = "gpt4o-deploy";
        using var registry = TestTeachers.Registry(null, options);

        var response = await registry.Get("azure").CompleteAsync(TestTeachers.Ask("ping"));

        var seen = Assert.Single(server.Requests);
        Assert.Equal("/openai/deployments/gpt4o-deploy/chat/completions", seen.Path);
        Assert.Contains("api-version=2024-10-21", seen.Query);
        Assert.Equal(TestTeachers.Key, seen.ApiKeyHeader);
        Assert.Null(seen.Authorization);
        Assert.Equal(200, seen.Status);
        Assert.Equal("echo: ping", response.Content);
        Assert.Equal("gpt4o-deploy", response.Model);
        Assert.Equal(new TeacherInfo("azure-openai", "gpt4o-deploy", null), response.Teacher);
    }

    [Fact]
    public async Task Azure_route_with_an_unsupported_api_version_on_the_server_is_a_fatal_404()
    {
        await using var server = await TestTeachers.StartServer(o => o.AzureApiVersion = "2030-01-01");
        using var registry = TestTeachers.Registry(null, TestTeachers.Options(server, "azure", TeacherProviders.AzureOpenAI));

        var e = await Assert.ThrowsAsync<TeacherRequestException>(() => registry.Get("azure").CompleteAsync(TestTeachers.Ask("x")));

        Assert.True(e.IsFatal);
        Assert.Contains("HTTP 404", e.Message);
        Assert.Contains("ApiVersion", e.Hint);
        Assert.Equal(1, server.RequestCount);
    }

    [Fact]
    public async Task Azure_wrong_key_gets_401_from_the_server_without_retries()
    {
        await using var server = await TestTeachers.StartServer(o => o.ApiKey = "the-right-key");
        using var registry = TestTeachers.Registry(null, TestTeachers.Options(server, "azure", TeacherProviders.AzureOpenAI));

        var e = await Assert.ThrowsAsync<TeacherRequestException>(() => registry.Get("azure").CompleteAsync(TestTeachers.Ask("x")));

        Assert.Equal(401, e.StatusCode);
        Assert.Equal(1, server.RequestCount);
        Assert.DoesNotContain(TestTeachers.Key, e.ToString());
    }

    [Theory]
    [InlineData(TeacherProviders.AzureOpenAI)]
    [InlineData(TeacherProviders.OpenAICompatible)]
    public async Task The_SDKs_own_retries_are_off_so_Polly_alone_decides(string provider)
    {
        await using var server = await TestTeachers.StartServer(o => o.DefaultFault = Fault.Unavailable);
        var options = TestTeachers.Options(server, "t", provider);
        options.MaxRetries = 0;
        using var registry = TestTeachers.Registry(null, options);

        await Assert.ThrowsAsync<TeacherUnavailableException>(() => registry.Get("t").CompleteAsync(TestTeachers.Ask("x")));

        Assert.Equal(1, server.RequestCount);
    }

    [Fact]
    public async Task OpenAI_compatible_route_sends_bearer_key_and_the_sampling_parameters()
    {
        await using var server = await TestTeachers.StartServer();
        using var registry = TestTeachers.Registry(null, TestTeachers.Options(server));

        await registry.Get("primary").CompleteAsync(new TeacherRequest
        {
            Messages = [ChatMessage.User("hi")],
            Temperature = 0.5f,
            TopP = 0.9f,
            MaxTokens = 77,
            Seed = 42,
            Stop = ["###"],
        });

        var seen = Assert.Single(server.Requests);
        Assert.Equal("/v1/chat/completions", seen.Path);
        Assert.Equal($"Bearer {TestTeachers.Key}", seen.Authorization);
        using var body = JsonDocument.Parse(seen.Body);
        var root = body.RootElement;
        Assert.Equal("gpt-4o-mini", root.GetProperty("model").GetString());
        Assert.Equal(0.5, root.GetProperty("temperature").GetDouble(), 3);
        Assert.Equal(0.9, root.GetProperty("top_p").GetDouble(), 3);
        Assert.Equal(42, root.GetProperty("seed").GetInt64());
        Assert.Equal("###", root.GetProperty("stop")[0].GetString());
        // OpenAI 2.1.0 sends max_completion_tokens; Azure.AI.OpenAI 2.1.0 sends max_tokens (what Azure GA versions accept).
        Assert.Equal(77, root.GetProperty("max_completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Logprobs_with_top_k_alternatives_are_parsed_per_token()
    {
        await using var server = await TestTeachers.StartServer(o => o.Content = "The order shipped");
        using var registry = TestTeachers.Registry(null, TestTeachers.Options(server));

        var response = await registry.Get("primary").CompleteAsync(TestTeachers.Ask("x") with { Logprobs = true, TopLogprobs = 3 });

        using var body = JsonDocument.Parse(server.Requests[0].Body);
        Assert.True(body.RootElement.GetProperty("logprobs").GetBoolean());
        Assert.Equal(3, body.RootElement.GetProperty("top_logprobs").GetInt32());
        Assert.Equal(["The", " order", " shipped"], response.Logprobs.Select(t => t.Token));
        Assert.Equal(-0.2, response.Logprobs[1].Logprob, 5);
        Assert.All(response.Logprobs, t => Assert.Equal(3, t.Top.Count));
        Assert.Equal(" order", response.Logprobs[1].Top[0].Token);
        Assert.Equal(" order#2", response.Logprobs[1].Top[2].Token);
        Assert.Equal(-2.2, response.Logprobs[1].Top[2].Logprob, 5);
        Assert.Null(response.Logprobs[0].TokenId);
    }

    [Fact]
    public async Task Token_ids_and_the_logprobs_mode_a_server_adds_are_kept_with_the_request_settings()
    {
        await using var server = await TestTeachers.StartServer(o =>
        {
            o.Content = "The order shipped";
            o.LogprobTokenIds = true;
            o.LogprobsMode = "raw_logprobs";
        });
        using var registry = TestTeachers.Registry(null, TestTeachers.Options(server));

        var response = await registry.Get("primary").CompleteAsync(TestTeachers.Ask("x") with
        {
            Logprobs = true, TopLogprobs = 2, Temperature = 0.7f, TopP = 0.9f,
        });

        Assert.Equal([100, 101, 102], response.Logprobs.Select(t => t.TokenId));
        Assert.Equal([2000, 2001], response.Logprobs[1].Top.Select(t => t.TokenId));
        Assert.Equal(new LogprobProvenance(0.7, 0.9, 2, Raw: true), response.LogprobProvenance);
        Assert.Equal(1.0, response.LogprobProvenance!.DistributionTemperature);
    }

    [Fact]
    public async Task Without_a_server_statement_the_configured_logprobs_mode_is_recorded()
    {
        await using var server = await TestTeachers.StartServer(o => o.Content = "The order shipped");
        var processed = TestTeachers.Options(server);
        processed.RawLogprobs = false;
        using var registry = TestTeachers.Registry(null, processed);
        var ask = TestTeachers.Ask("x") with { Logprobs = true, TopLogprobs = 3, Temperature = 0.5f };

        var response = await registry.Get("primary").CompleteAsync(ask);

        Assert.All(response.Logprobs, t => Assert.Null(t.TokenId));
        Assert.Equal(new LogprobProvenance(0.5, null, 3, Raw: false), response.LogprobProvenance);
        Assert.Equal(0.5, response.LogprobProvenance!.DistributionTemperature);

        using var unknown = TestTeachers.Registry(null, TestTeachers.Options(server));
        Assert.Null((await unknown.Get("primary").CompleteAsync(ask)).LogprobProvenance!.Raw);
        Assert.Null((await unknown.Get("primary").CompleteAsync(TestTeachers.Ask("x"))).LogprobProvenance);
    }

    [Fact]
    public async Task Without_logprobs_requested_none_are_returned()
    {
        await using var server = await TestTeachers.StartServer();
        using var registry = TestTeachers.Registry(null, TestTeachers.Options(server));

        var response = await registry.Get("primary").CompleteAsync(TestTeachers.Ask("x"));

        Assert.Empty(response.Logprobs);
    }

    [Fact]
    public async Task Tools_and_tool_choice_are_sent_and_tool_calls_parsed()
    {
        await using var server = await TestTeachers.StartServer(o => o.ToolCallArguments = """{"order_id": 1042}""");
        using var registry = TestTeachers.Registry(null, TestTeachers.Options(server));

        var response = await registry.Get("primary").CompleteAsync(TestTeachers.Ask("where is order 1042?") with { Tools = Tools, ToolChoice = "required" });

        using var body = JsonDocument.Parse(server.Requests[0].Body);
        var tools = body.RootElement.GetProperty("tools");
        Assert.Equal(2, tools.GetArrayLength());
        Assert.Equal("lookup_order", tools[0].GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("integer", tools[0].GetProperty("function").GetProperty("parameters").GetProperty("properties").GetProperty("order_id").GetProperty("type").GetString());
        Assert.Equal("required", body.RootElement.GetProperty("tool_choice").GetString());
        Assert.Equal("tool_calls", response.FinishReason);
        var call = Assert.Single(response.ToolCalls);
        Assert.Equal("lookup_order", call.Name);
        Assert.Equal("""{"order_id": 1042}""", call.Arguments);
        Assert.StartsWith("call_", call.Id);
        Assert.True(response.IsUsable);
    }

    [Fact]
    public async Task A_forced_function_tool_choice_is_sent_as_a_function_object()
    {
        await using var server = await TestTeachers.StartServer(o => o.ToolCallArguments = "{}");
        using var registry = TestTeachers.Registry(null, TestTeachers.Options(server));

        await registry.Get("primary").CompleteAsync(TestTeachers.Ask("x") with { Tools = Tools, ToolChoice = "track_shipment" });

        using var body = JsonDocument.Parse(server.Requests[0].Body);
        Assert.Equal("track_shipment", body.RootElement.GetProperty("tool_choice").GetProperty("function").GetProperty("name").GetString());
    }

    [Fact]
    public async Task Invalid_tool_arguments_and_unknown_tools_come_back_verbatim_for_the_verifier()
    {
        await using var server = await TestTeachers.StartServer();
        server.Enqueue(Fault.InvalidToolArguments, Fault.UnknownTool);
        using var registry = TestTeachers.Registry(null, TestTeachers.Options(server));
        var teacher = registry.Get("primary");

        var invalid = await teacher.CompleteAsync(TestTeachers.Ask("x") with { Tools = Tools });
        var unknown = await teacher.CompleteAsync(TestTeachers.Ask("x") with { Tools = Tools });

        Assert.Equal("{\"order_id\": 12", Assert.Single(invalid.ToolCalls).Arguments);
        Assert.Equal("lookup_order", invalid.ToolCalls[0].Name);
        Assert.Equal("delete_all_orders", Assert.Single(unknown.ToolCalls).Name);
        Assert.Equal(2, server.RequestCount);
    }

    [Fact]
    public async Task Tool_call_history_round_trips_to_the_server()
    {
        await using var server = await TestTeachers.StartServer();
        using var registry = TestTeachers.Registry(null, TestTeachers.Options(server));

        await registry.Get("primary").CompleteAsync(new TeacherRequest
        {
            Tools = Tools,
            Messages =
            [
                ChatMessage.User("where is 7?"),
                ChatMessage.Assistant(null, [new ToolCall("call_a", "lookup_order", """{"order_id":7}""")]),
                ChatMessage.Tool("call_a", "lookup_order", """{"status":"shipped"}"""),
            ],
        });

        using var body = JsonDocument.Parse(server.Requests[0].Body);
        var messages = body.RootElement.GetProperty("messages");
        Assert.Equal(3, messages.GetArrayLength());
        var call = messages[1].GetProperty("tool_calls")[0];
        Assert.Equal("call_a", call.GetProperty("id").GetString());
        Assert.Equal("lookup_order", call.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("""{"order_id":7}""", call.GetProperty("function").GetProperty("arguments").GetString());
        Assert.Equal("tool", messages[2].GetProperty("role").GetString());
        Assert.Equal("call_a", messages[2].GetProperty("tool_call_id").GetString());
    }

    [Fact]
    public async Task Reasoning_content_usage_cached_tokens_and_cost_are_reported()
    {
        await using var server = await TestTeachers.StartServer(o => { o.ReasoningContent = "Step 1: look it up."; o.Content = "one two three four"; o.CachedTokens = 10; });
        using var registry = TestTeachers.Registry(null, TestTeachers.Options(server));

        var response = await registry.Get("primary").CompleteAsync(TestTeachers.Ask("x"));

        Assert.Equal("Step 1: look it up.", response.Reasoning);
        Assert.Equal(4, response.Usage.CompletionTokens);
        Assert.Equal(10, response.Usage.CachedPromptTokens);
        Assert.True(response.Usage.PromptTokens > 10);
        double expected = ((response.Usage.PromptTokens - 10) * 0.15 + 10 * 0.075 + 4 * 0.60) / 1e6;
        Assert.Equal(expected, response.CostUsd, 12);
        Assert.True(response.Latency > TimeSpan.Zero);
        Assert.Equal(expected, registry.Meter.Total.CostUsd, 12);
        Assert.Equal(1, registry.Meter.ByTeacher["primary"].Requests);
    }

    [Fact]
    public async Task Invalid_tools_json_is_a_user_facing_error()
    {
        await using var server = await TestTeachers.StartServer();
        using var registry = TestTeachers.Registry(null, TestTeachers.Options(server));

        var e = await Assert.ThrowsAsync<Distill.Core.Errors.DistillException>(() => registry.Get("primary").CompleteAsync(TestTeachers.Ask("x") with { Tools = "{not json" }));

        Assert.Contains("tools JSON", e.Message);
        Assert.Equal(0, server.RequestCount);
    }
}
