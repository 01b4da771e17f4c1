using Distill.Core.Samples;
using Distill.Models.Chat;

namespace Distill.Models.Tests.Chat;

public class AssistantTurnParserTests
{
    public static TheoryData<ChatMessage> AssistantTurns => new()
    {
        ChatMessage.Assistant("Your order shipped on Monday."),
        ChatMessage.Assistant("Refund approved.", reasoning: "Delivered 3 days ago.\nWithin the 30-day window."),
        ChatMessage.Assistant(null, [new ToolCall("call_0", "lookup_order", """{"order_id":"A-1"}""")]),
        ChatMessage.Assistant("Checking both — un instant 🙂", [
            new ToolCall("call_0", "lookup_order", """{"order_id":"A-1","include":["items","総額"]}"""),
            new ToolCall("call_1", "calculator", """{"expression":"12.5 * 3","note":"say \"hi\"\n"}"""),
        ], reasoning: "Two lookups are independent, so call both."),
        ChatMessage.Assistant(null, [new ToolCall("call_0", "kb_search", "{}")], reasoning: "Search first."),
    };

    [Theory]
    [MemberData(nameof(AssistantTurns))]
    public void Parse_of_rendered_assistant_turn_gives_back_content_reasoning_and_tool_calls(ChatMessage message)
    {
        var parsed = AssistantTurnParser.Parse(ChatTemplate.AssistantOutput(message) + "<|im_end|>");

        Assert.Empty(parsed.Errors);
        AssistantTurnAssert.Equal(message, parsed.ToChatMessage());
    }

    [Fact]
    public void Malformed_tool_call_json_is_reported_as_an_error_and_other_calls_still_parse()
    {
        const string generated = """
            <tool_call>
            {"name": "lookup_order", "arguments": {"order_id": "A-1"
            </tool_call>
            <tool_call>
            {"name": "track_shipment", "arguments": {"tracking": "Z9"}}
            </tool_call>
            """;

        var parsed = AssistantTurnParser.Parse(generated);

        var error = Assert.Single(parsed.Errors);
        Assert.Contains("Tool call 0 is not valid JSON", error);
        var call = Assert.Single(parsed.ToolCalls);
        Assert.Equal(new ToolCall("call_0", "track_shipment", """{"tracking":"Z9"}"""), call);
        Assert.False(parsed.IsWellFormed);
    }

    [Fact]
    public void Malformed_tool_call_stays_content_as_written_between_the_text_and_valid_calls_around_it()
    {
        const string broken = "<tool_call>\n{\"name\": \"lookup_order\", \"arguments\": {\"order_id\": \"A-1\"\n</tool_call>";
        const string valid = "<tool_call>\n{\"name\": \"track_shipment\", \"arguments\": {}}\n</tool_call>";

        var parsed = AssistantTurnParser.Parse($"<think>\nTwo lookups.\n</think>\nChecking.\n{broken}\n{valid}\nDone.");

        Assert.Equal("Two lookups.", parsed.Reasoning);
        Assert.Equal($"Checking.\n{broken}\n\nDone.", parsed.Content);
        Assert.Equal("track_shipment", Assert.Single(parsed.ToolCalls).Name);
        Assert.Contains("Tool call 0 is not valid JSON", Assert.Single(parsed.Errors));
    }

    [Fact]
    public void Call_to_a_tool_not_offered_is_an_error_and_stays_content()
    {
        const string call = "<tool_call>\n{\"name\": \"cancel_order\", \"arguments\": {}}\n</tool_call>";

        var offered = AssistantTurnParser.Parse(call, toolNames: ["lookup_order"]);
        var anyName = AssistantTurnParser.Parse(call);

        Assert.Equal(call, offered.Content);
        Assert.Empty(offered.ToolCalls);
        Assert.Contains("'cancel_order', which is not one of the offered tools", Assert.Single(offered.Errors));
        Assert.Equal("cancel_order", Assert.Single(anyName.ToolCalls).Name);
    }

    [Theory]
    [InlineData("<tool_call>\n{\"arguments\": {}}\n</tool_call>", "no \"name\"")]
    [InlineData("<tool_call>\n[1, 2]\n</tool_call>", "not a JSON object")]
    [InlineData("<tool_call>\n{\"name\": \"f\", \"arguments\": [1]}\n</tool_call>", "\"arguments\" that are not a JSON object")]
    [InlineData("<tool_call>\n{\"name\": \"f\", \"arguments\": {}}", "no closing </tool_call>")]
    [InlineData("<think>\nstill thinking", "<think> has no closing </think>")]
    [InlineData("done</tool_call>", "without a matching <tool_call>")]
    public void Malformed_output_is_reported_never_thrown(string generated, string expectedError)
    {
        var parsed = AssistantTurnParser.Parse(generated);

        Assert.Contains(parsed.Errors, e => e.Contains(expectedError, StringComparison.Ordinal));
    }

    [Fact]
    public void Arguments_written_as_a_json_string_are_accepted()
    {
        var parsed = AssistantTurnParser.Parse("<tool_call>\n{\"name\": \"f\", \"arguments\": \"{\\\"x\\\": 1}\"}\n</tool_call>");

        Assert.Empty(parsed.Errors);
        Assert.Equal("""{"x":1}""", Assert.Single(parsed.ToolCalls).Arguments);
    }

    [Fact]
    public void Text_outside_known_tags_stays_content()
    {
        var parsed = AssistantTurnParser.Parse(
            "Sure.\n<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>\n<note>see <b>policy</b></note>");

        Assert.Empty(parsed.Errors);
        Assert.Equal("Sure.\n\n<note>see <b>policy</b></note>", parsed.Content);
        Assert.Single(parsed.ToolCalls);
    }

    [Fact]
    public void Text_after_the_end_of_turn_marker_is_ignored()
    {
        var parsed = AssistantTurnParser.Parse("Hello.<|im_end|>\n<|im_start|>user\nnext");

        Assert.Equal("Hello.", parsed.Content);
        Assert.Null(parsed.Reasoning);
        Assert.Empty(parsed.ToolCalls);
    }

    [Fact]
    public void Closing_think_without_opening_tag_takes_the_text_before_it_as_reasoning()
    {
        var parsed = AssistantTurnParser.Parse("The prompt opened the block.\n</think>\nAnswer.");

        Assert.Empty(parsed.Errors);
        Assert.Equal("The prompt opened the block.", parsed.Reasoning);
        Assert.Equal("Answer.", parsed.Content);
    }
}
