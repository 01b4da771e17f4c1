using System.Text.Json;
using Distill.Core.Samples;

namespace Distill.Teachers.Tests;

/// <summary>The assistant's reasoning goes back to the server as reasoning_content, where the server asks for it.</summary>
public sealed class ReasoningRoundTripTests
{
    private static readonly ChatMessage[] History =
    [
        ChatMessage.System("You are a support agent."),
        ChatMessage.User("Where is A1?"),
        ChatMessage.Assistant("Checking.", [new ToolCall("call_0", "lookup_order", """{"order_id": "A1"}""")], "Look the order up first."),
        ChatMessage.Tool("call_0", "lookup_order", """{"status": "shipped"}"""),
        ChatMessage.Assistant("It has shipped.", reasoning: "The tool says shipped."),
        ChatMessage.Assistant("No reasoning here."),
        ChatMessage.User("Thanks"),
    ];

    private static async Task<JsonElement[]> SentMessagesAsync(string provider, bool sendReasoning)
    {
        await using var server = await TestTeachers.StartServer();
        var options = TestTeachers.Options(server, "t", provider);
        options.SendReasoning = sendReasoning;
        using var registry = TestTeachers.Registry(null, options);

        await registry.Get("t").CompleteAsync(new TeacherRequest { Messages = History });

        using var body = JsonDocument.Parse(Assert.Single(server.Requests).Body);
        return body.RootElement.GetProperty("messages").EnumerateArray().Select(m => m.Clone()).ToArray();
    }

    [Theory]
    [InlineData(TeacherProviders.OpenAICompatible)]
    [InlineData(TeacherProviders.AzureOpenAI)]
    public async Task With_send_reasoning_each_assistant_message_carries_its_reasoning_and_keeps_everything_else(string provider)
    {
        var sent = await SentMessagesAsync(provider, sendReasoning: true);

        Assert.Equal(History.Length, sent.Length);
        Assert.Equal("Look the order up first.", sent[2].GetProperty("reasoning_content").GetString());
        Assert.Equal("Checking.", sent[2].GetProperty("content").GetString());
        Assert.Equal("lookup_order", sent[2].GetProperty("tool_calls")[0].GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("call_0", sent[2].GetProperty("tool_calls")[0].GetProperty("id").GetString());
        Assert.Equal("The tool says shipped.", sent[4].GetProperty("reasoning_content").GetString());
        Assert.Equal("It has shipped.", sent[4].GetProperty("content").GetString());
        Assert.False(sent[5].TryGetProperty("reasoning_content", out _));
        Assert.All(sent.Where(m => m.GetProperty("role").GetString() != "assistant"), m => Assert.False(m.TryGetProperty("reasoning_content", out _)));
    }

    [Fact]
    public async Task By_default_no_reasoning_is_sent_as_strict_apis_reject_unknown_message_fields()
    {
        var sent = await SentMessagesAsync(TeacherProviders.OpenAICompatible, sendReasoning: false);

        Assert.All(sent, m => Assert.False(m.TryGetProperty("reasoning_content", out _)));
        Assert.Equal("Checking.", sent[2].GetProperty("content").GetString());
    }
}
