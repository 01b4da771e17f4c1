using System.Text;
using Distill.Server.Engine;

namespace Distill.Server.Tests;

/// <summary>
/// With tool_choice "auto" the model may write a &lt;tool_call&gt; block that is not a valid call. The reply then carries the
/// block as content, as vLLM's tool parsers return it, whole and streamed alike. Fixed generated text stands in for the
/// model: the whole reply goes through <see cref="LlamaChatEngine.ChoiceFromText"/> and the streamed one through
/// <see cref="StreamingTurnSplitter"/>, the two places <see cref="LlamaChatEngine"/> turns its text into a response.
/// </summary>
public sealed class MalformedToolCallTests
{
    private static readonly string[] ToolNames = ["lookup_order", "track_shipment"];

    private const string ValidCall = "<tool_call>\n{\"name\": \"lookup_order\", \"arguments\": {\"order_id\": \"A-1\"}}\n</tool_call>";
    private const string BrokenJson = "<tool_call>\n{\"name\": \"track_shipment\", \"arguments\": {\"tracking\": \"Z9\"\n</tool_call>";
    private const string UnknownFunction = "<tool_call>\n{\"name\": \"cancel_order\", \"arguments\": {\"order_id\": \"A-1\"}}\n</tool_call>";
    private const string Mixed = "Checking both.\n" + ValidCall + "\n" + BrokenJson;

    [Fact]
    public void Malformed_json_in_a_tool_call_comes_back_as_the_message_content()
    {
        var choice = Whole("Let me look.\n" + BrokenJson);

        Assert.Equal("Let me look.\n" + BrokenJson, choice.Content);
        Assert.Empty(choice.ToolCalls);
        Assert.Equal(FinishReasons.Stop, choice.FinishReason);
    }

    [Fact]
    public void Call_to_a_function_not_offered_comes_back_as_the_message_content()
    {
        var choice = Whole(UnknownFunction);

        Assert.Equal(UnknownFunction, choice.Content);
        Assert.Empty(choice.ToolCalls);
        Assert.Equal(FinishReasons.Stop, choice.FinishReason);
    }

    [Fact]
    public void Valid_and_malformed_calls_mixed_give_the_valid_call_and_the_malformed_block_as_content()
    {
        var choice = Whole(Mixed);

        var call = Assert.Single(choice.ToolCalls);
        Assert.Equal("lookup_order", call.Name);
        Assert.Equal("""{"order_id":"A-1"}""", call.Arguments);
        Assert.Equal("Checking both.\n\n" + BrokenJson, choice.Content);
        Assert.Equal(FinishReasons.ToolCalls, choice.FinishReason);
    }

    [Fact]
    public void Reasoning_stays_apart_when_the_tool_call_after_it_is_malformed()
    {
        var choice = Whole("<think>\nThe user wants tracking.\n</think>\n" + BrokenJson);

        Assert.Equal("The user wants tracking.", choice.Reasoning);
        Assert.Equal(BrokenJson, choice.Content);
        Assert.Empty(choice.ToolCalls);
    }

    [Fact]
    public void Streamed_malformed_json_is_sent_as_content_once_the_reply_ends()
    {
        var streamed = Streamed("Let me look.\n" + BrokenJson);

        Assert.Equal("Let me look.", streamed.ContentBeforeEnd); // the newline waits: it might end the content
        Assert.Equal("Let me look.\n" + BrokenJson, streamed.Content);
        Assert.Equal(Whole("Let me look.\n" + BrokenJson).Content, streamed.Content);
    }

    [Fact]
    public void Streamed_call_to_a_function_not_offered_is_sent_as_content()
    {
        var streamed = Streamed(UnknownFunction);

        Assert.Equal("", streamed.ContentBeforeEnd);
        Assert.Equal(UnknownFunction, streamed.Content);
    }

    [Fact]
    public void Streamed_mix_sends_the_malformed_block_as_content_and_the_valid_call_only_as_a_tool_call()
    {
        var streamed = Streamed(Mixed);

        Assert.Equal("Checking both.\n\n" + BrokenJson, streamed.Content);
        Assert.DoesNotContain("lookup_order", streamed.Content);
        Assert.Equal(Whole(Mixed).Content, streamed.Content);
    }

    [Fact]
    public void Streamed_reasoning_is_unchanged_when_the_tool_call_after_it_is_malformed()
    {
        var streamed = Streamed("<think>\nThe user wants tracking.\n</think>\n" + BrokenJson);

        Assert.Equal("The user wants tracking.", streamed.Reasoning); // the newline before </think> is not streamed
        Assert.Equal(BrokenJson, streamed.Content);
        Assert.Equal(Whole("<think>\nThe user wants tracking.\n</think>\n" + BrokenJson).Reasoning, streamed.Reasoning);
    }

    [Fact]
    public void Under_tool_choice_none_even_a_valid_call_comes_back_as_content()
    {
        var request = new EngineRequest { Messages = [], ToolNames = ToolNames, ToolChoice = new ToolChoice("none") };
        Assert.Empty(request.CallableToolNames);
        Assert.Equal(ToolNames, (request with { ToolChoice = ToolChoice.Auto }).CallableToolNames);

        var choice = LlamaChatEngine.ChoiceFromText(0, ValidCall, FinishReasons.Stop, request.CallableToolNames, null);
        Assert.Equal(ValidCall, choice.Content);
        Assert.Empty(choice.ToolCalls);
    }

    [Theory]
    [InlineData("<think>\nFirst.\n\nSecond.\n</think>\nThe answer.\n")]
    [InlineData("Line one.\n\nLine two.\n\n")]
    [InlineData("<think>\nChecking.\n</think>\nLet me look.\n" + ValidCall)]
    public void Streamed_reasoning_and_content_equal_the_whole_reply(string text)
    {
        var streamed = Streamed(text);
        var whole = Whole(text);
        Assert.Equal(whole.Reasoning ?? "", streamed.Reasoning);
        Assert.Equal(whole.Content ?? "", streamed.Content);
    }

    private static EngineChoice Whole(string text) => LlamaChatEngine.ChoiceFromText(0, text, FinishReasons.Stop, ToolNames, null);

    /// <summary>Feeds the text a few characters at a time, as tokens arrive, then once more as final.</summary>
    private static (string Reasoning, string Content, string ContentBeforeEnd) Streamed(string text)
    {
        var splitter = new StreamingTurnSplitter([], ToolNames);
        var reasoning = new StringBuilder();
        var content = new StringBuilder();
        for (var length = 3; length < text.Length; length += 3)
        {
            var (r, c) = splitter.Next(text[..length], final: false);
            reasoning.Append(r);
            content.Append(c);
        }
        var beforeEnd = content.ToString();
        var (lastReasoning, lastContent) = splitter.Next(text, final: true);
        return (reasoning.Append(lastReasoning).ToString(), content.Append(lastContent).ToString(), beforeEnd);
    }
}
