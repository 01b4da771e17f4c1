using Distill.Core.Errors;
using Distill.Core.Samples;
using Distill.Models.Chat;

namespace Distill.Models.Tests.Chat;

public class ChatTemplateRenderTests
{
    internal const string Tools = """
        [{"type":"function","function":{"name":"lookup_order","description":"Look up an order","parameters":{"type":"object","properties":{"order_id":{"type":"string"}},"required":["order_id"]}}},
         {"type":"function","function":{"name":"track_shipment","description":"Where is a parcel","parameters":{"type":"object","properties":{"tracking":{"type":"string"}},"required":["tracking"]}}}]
        """;

    internal static IReadOnlyList<ChatMessage> ToolConversation =>
    [
        ChatMessage.System("You are a store assistant."),
        ChatMessage.User("Where is order A-1? Also track Z9."),
        ChatMessage.Assistant(null, [new ToolCall("call_0", "lookup_order", """{"order_id":"A-1"}"""),
                                     new ToolCall("call_1", "track_shipment", """{"tracking":"Z9"}""")]),
        ChatMessage.Tool("call_0", "lookup_order", """{"status": "shipped"}"""),
        ChatMessage.Tool("call_1", "track_shipment", """{"city": "Lyon"}"""),
        ChatMessage.Assistant("Order A-1 has shipped; parcel Z9 is in Lyon."),
        ChatMessage.User("Thanks!"),
    ];

    [Fact]
    public void Multi_turn_tool_conversation_renders_exactly_as_qwen25()
    {
        // Written by hand from Qwen2.5-Instruct's chat_template (tojson with ", " and ": " separators;
        // parallel calls each on their own <tool_call>; consecutive tool results in one user turn).
        const string expected = """
            <|im_start|>system
            You are a store assistant.

            # Tools

            You may call one or more functions to assist with the user query.

            You are provided with function signatures within <tools></tools> XML tags:
            <tools>
            {"type": "function", "function": {"name": "lookup_order", "description": "Look up an order", "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}}
            {"type": "function", "function": {"name": "track_shipment", "description": "Where is a parcel", "parameters": {"type": "object", "properties": {"tracking": {"type": "string"}}, "required": ["tracking"]}}}
            </tools>

            For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:
            <tool_call>
            {"name": <function-name>, "arguments": <args-json-object>}
            </tool_call><|im_end|>
            <|im_start|>user
            Where is order A-1? Also track Z9.<|im_end|>
            <|im_start|>assistant
            <tool_call>
            {"name": "lookup_order", "arguments": {"order_id": "A-1"}}
            </tool_call>
            <tool_call>
            {"name": "track_shipment", "arguments": {"tracking": "Z9"}}
            </tool_call><|im_end|>
            <|im_start|>user
            <tool_response>
            {"status": "shipped"}
            </tool_response>
            <tool_response>
            {"city": "Lyon"}
            </tool_response><|im_end|>
            <|im_start|>assistant
            Order A-1 has shipped; parcel Z9 is in Lyon.<|im_end|>
            <|im_start|>user
            Thanks!<|im_end|>
            <|im_start|>assistant

            """;

        var rendered = new ChatTemplate().Render(ToolConversation, Tools, addGenerationPrompt: true);

        Assert.Equal(expected, rendered.Text);
    }

    [Fact]
    public void Assistant_turn_with_content_reasoning_and_a_tool_call_puts_think_first_then_content_then_the_call()
    {
        var messages = new[]
        {
            ChatMessage.User("Refund A-1?"),
            ChatMessage.Assistant("Let me check.", [new ToolCall("call_0", "lookup_order", """{"order_id": "A-1"}""")], reasoning: "Need the order first."),
        };
        const string expected = """
            <|im_start|>user
            Refund A-1?<|im_end|>
            <|im_start|>assistant
            <think>
            Need the order first.
            </think>
            Let me check.
            <tool_call>
            {"name": "lookup_order", "arguments": {"order_id": "A-1"}}
            </tool_call><|im_end|>

            """;

        var rendered = new ChatTemplate(new ChatTemplateOptions { DefaultSystemPrompt = null }).Render(messages);

        Assert.Equal(expected, rendered.Text);
    }

    [Fact]
    public void Conversation_without_system_turn_gets_the_default_system_prompt()
    {
        var rendered = new ChatTemplate().Render([ChatMessage.User("Hi")]);

        Assert.Equal("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n", rendered.Text);
    }

    [Fact]
    public void Tools_without_any_system_text_open_the_system_turn_with_the_tools_section()
    {
        var rendered = new ChatTemplate(new ChatTemplateOptions { DefaultSystemPrompt = null }).Render([ChatMessage.User("Hi")], Tools);

        Assert.StartsWith("<|im_start|>system\n# Tools\n\nYou may call", rendered.Text);
    }

    [Fact]
    public void Tool_arguments_keep_unicode_and_escape_like_python_json_dumps()
    {
        var message = ChatMessage.Assistant(null, [new ToolCall("call_0", "note", """{"text":"Café \"ok\"\n\u0001","n":[1,2.5,true,null]}""")]);

        var output = ChatTemplate.AssistantOutput(message);

        Assert.Contains("""{"name": "note", "arguments": {"text": "Café \"ok\"\n\u0001", "n": [1, 2.5, true, null]}}""", output);
    }

    [Fact]
    public void Tool_schemas_render_the_same_whatever_order_a_client_wrote_the_function_keys_in()
    {
        // The OpenAI .NET SDK sends {"description", "name", "parameters"}; generation stores {"name", "description", "parameters"}.
        const string reordered = """
            [{"type":"function","function":{"description":"Look up an order","strict":false,"parameters":{"type":"object","properties":{"order_id":{"type":"string"}},"required":["order_id"]},"name":"lookup_order"}}]
            """;
        const string documented = """
            [{"type":"function","function":{"name":"lookup_order","description":"Look up an order","parameters":{"type":"object","properties":{"order_id":{"type":"string"}},"required":["order_id"]},"strict":false}}]
            """;

        var fromClient = new ChatTemplate().Render([ChatMessage.User("Hi")], reordered).Text;

        Assert.Equal(new ChatTemplate().Render([ChatMessage.User("Hi")], documented).Text, fromClient);
        Assert.Contains("""{"type": "function", "function": {"name": "lookup_order", "description": "Look up an order", "parameters": """, fromClient);
    }

    [Fact]
    public void Unknown_role_is_a_user_facing_error()
    {
        var error = Assert.Throws<DistillException>(() => new ChatTemplate().Render([new ChatMessage { Role = "developer", Content = "x" }]));

        Assert.Contains("developer", error.Message);
    }

    [Fact]
    public void Tools_that_are_not_a_json_array_are_a_user_facing_error()
    {
        Assert.Throws<DistillException>(() => new ChatTemplate().Render([ChatMessage.User("Hi")], """{"name": "x"}"""));
        Assert.Throws<DistillException>(() => new ChatTemplate().Render([ChatMessage.User("Hi")], "[{"));
    }
}
