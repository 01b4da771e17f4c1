using System.ClientModel;
using System.ClientModel.Primitives;
using Azure.AI.OpenAI;
using OpenAI;
using OpenAI.Chat;

namespace Distill.Server.Tests;

/// <summary>The clients users actually point at `distill serve`: the OpenAI .NET SDK and AzureOpenAIClient.</summary>
public sealed class OpenAiClientTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private const string LookupTool = """{"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}""";

    private ChatClient OpenAiChat() => new("scripted", new ApiKeyCredential(ServerFixture.ApiKey), new OpenAIClientOptions
    {
        Endpoint = new Uri(server.BaseAddress, "/v1"),
        RetryPolicy = new ClientRetryPolicy(0),
    });

    [Fact]
    public async Task OpenAI_client_gets_content_usage_and_top_logprobs()
    {
        var options = new ChatCompletionOptions { IncludeLogProbabilities = true, TopLogProbabilityCount = 3 };

        ChatCompletion completion = await OpenAiChat().CompleteChatAsync([new UserChatMessage("where is my order")], options);

        Assert.Equal("echo: where is my order", completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(5, completion.Usage.OutputTokenCount);
        Assert.Equal(5, completion.ContentTokenLogProbabilities.Count);
        var first = completion.ContentTokenLogProbabilities[0];
        Assert.Equal("echo:", first.Token);
        Assert.Equal(-0.25f, first.LogProbability);
        Assert.Equal(3, first.TopLogProbabilities.Count);
        Assert.Equal(-2.25f, first.TopLogProbabilities[2].LogProbability);
    }

    [Fact]
    public async Task OpenAI_client_gets_well_formed_tool_calls()
    {
        var options = new ChatCompletionOptions
        {
            Tools = { ChatTool.CreateFunctionTool("lookup_order", "Find an order", BinaryData.FromString(LookupTool)) },
        };

        ChatCompletion completion = await OpenAiChat().CompleteChatAsync([new UserChatMessage("order 42")], options);

        Assert.Equal(ChatFinishReason.ToolCalls, completion.FinishReason);
        var call = Assert.Single(completion.ToolCalls);
        Assert.Equal("lookup_order", call.FunctionName);
        Assert.Equal("order 42", System.Text.Json.JsonDocument.Parse(call.FunctionArguments.ToString()).RootElement.GetProperty("query").GetString());
    }

    [Fact]
    public async Task OpenAI_client_sends_tool_results_back_in_a_multi_turn_conversation()
    {
        List<ChatMessage> messages =
        [
            new UserChatMessage("order 42"),
            new AssistantChatMessage([ChatToolCall.CreateFunctionToolCall("call_0", "lookup_order", BinaryData.FromString("""{"query":"42"}"""))]),
            new ToolChatMessage("call_0", """{"status":"shipped"}"""),
        ];
        var options = new ChatCompletionOptions
        {
            Tools = { ChatTool.CreateFunctionTool("lookup_order", "Find an order", BinaryData.FromString(LookupTool)) },
        };

        ChatCompletion completion = await OpenAiChat().CompleteChatAsync(messages, options);

        Assert.Equal("""echo: {"status":"shipped"}""", completion.Content[0].Text);
    }

    [Fact]
    public async Task OpenAI_client_streams_the_same_text()
    {
        var text = new System.Text.StringBuilder();
        ChatFinishReason? finish = null;

        await foreach (var update in OpenAiChat().CompleteChatStreamingAsync([new UserChatMessage("hello there")]))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }
            finish ??= update.FinishReason;
        }

        Assert.Equal("echo: hello there", text.ToString());
        Assert.Equal(ChatFinishReason.Stop, finish);
    }

    [Fact]
    public async Task Azure_client_works_through_the_deployment_route()
    {
        var azure = new AzureOpenAIClient(server.BaseAddress, new ApiKeyCredential(ServerFixture.ApiKey),
            new AzureOpenAIClientOptions { RetryPolicy = new ClientRetryPolicy(0) });

        ChatCompletion completion = await azure.GetChatClient("scripted").CompleteChatAsync([new UserChatMessage("hi")]);

        Assert.Equal("echo: hi", completion.Content[0].Text);
    }

    [Fact]
    public async Task Wrong_key_is_refused_with_401_and_no_retry_storm()
    {
        var client = new ChatClient("scripted", new ApiKeyCredential("sk-wrong"), new OpenAIClientOptions
        {
            Endpoint = new Uri(server.BaseAddress, "/v1"),
            RetryPolicy = new ClientRetryPolicy(0),
        });

        var error = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal(401, error.Status);
        Assert.DoesNotContain(ServerFixture.ApiKey, error.Message);
    }

    [Fact]
    public async Task Concurrent_requests_run_together_not_one_after_another()
    {
        var chat = OpenAiChat();

        await Task.WhenAll(Enumerable.Range(0, 16).Select(i => chat.CompleteChatAsync([new UserChatMessage($"q{i}")])));

        Assert.True(server.Engine.MaxConcurrent > 1, $"max concurrent was {server.Engine.MaxConcurrent}");
    }
}
