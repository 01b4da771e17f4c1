using System.Text.Json;
using Distill.Core.Samples;
using Distill.Models.Chat;
using Distill.Models.Tests.Tokenization;

namespace Distill.Models.Tests.Chat;

public class CompactToolFormatTests
{
    private static readonly ChatTemplate Compact = new(new ChatTemplateOptions { ToolFormat = ChatToolFormat.Compact });

    private static JsonElement Schema(string json) => JsonDocument.Parse(json).RootElement.Clone();

    [Fact]
    public void Tool_conversation_offers_tools_as_one_signature_line_each_and_keeps_the_rest_as_qwen25()
    {
        const string expected = """
            <|im_start|>system
            You are a store assistant.

            Tools:
            lookup_order(order_id: string) - Look up an order
            track_shipment(tracking: string) - Where is a parcel
            Call a tool with <tool_call>{"name": ..., "arguments": {...}}</tool_call><|im_end|>
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

        var rendered = Compact.Render(ChatTemplateRenderTests.ToolConversation, ChatTemplateRenderTests.Tools, addGenerationPrompt: true);

        Assert.Equal(expected, rendered.Text);
    }

    [Fact]
    public void Everything_after_the_system_turn_is_the_same_text_in_both_formats()
    {
        var json = new ChatTemplate().Render(ChatTemplateRenderTests.ToolConversation, ChatTemplateRenderTests.Tools).Text;
        var compact = Compact.Render(ChatTemplateRenderTests.ToolConversation, ChatTemplateRenderTests.Tools).Text;

        static string AfterSystem(string text) => text[(text.IndexOf("<|im_end|>", StringComparison.Ordinal) + "<|im_end|>".Length)..];
        Assert.Equal(AfterSystem(json), AfterSystem(compact));
    }

    [Fact]
    public void Tools_without_any_system_text_open_the_system_turn_with_the_heading()
    {
        var template = new ChatTemplate(new ChatTemplateOptions { ToolFormat = ChatToolFormat.Compact, DefaultSystemPrompt = null });

        var rendered = template.Render([ChatMessage.User("Hi")], ChatTemplateRenderTests.Tools);

        Assert.StartsWith("<|im_start|>system\nTools:\nlookup_order(order_id: string)", rendered.Text);
    }

    [Fact]
    public void Without_tools_the_compact_format_renders_exactly_as_json()
    {
        var messages = new[] { ChatMessage.User("Hi"), ChatMessage.Assistant("Hello.") };

        Assert.Equal(new ChatTemplate().Render(messages).Text, Compact.Render(messages).Text);
    }

    [Fact]
    public void Optional_parameters_enums_arrays_objects_and_unions_get_short_types()
    {
        var tool = Schema("""
            {"type": "function", "function": {"name": "refund", "description": "Refund an order.\nOnly once.",
             "parameters": {"type": "object", "properties": {
                "order_id": {"type": "string", "description": "The id"},
                "reason": {"type": "string", "enum": ["damaged", "late"]},
                "amount": {"type": "number"},
                "lines": {"type": "array", "items": {"type": "integer"}},
                "tags": {"type": "array", "items": {"enum": ["a", "b"]}},
                "address": {"type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "string"}}, "required": ["city"]},
                "note": {"type": ["string", "null"]},
                "mode": {"anyOf": [{"const": 1}, {"type": "boolean"}]},
                "extra": {}
             }, "required": ["order_id", "reason"]}}}
            """);

        var signature = CompactToolSignatures.Signature(tool);

        Assert.Equal("refund(order_id: string, reason: \"damaged\"|\"late\", amount?: number, lines?: integer[], tags?: (\"a\"|\"b\")[], "
            + "address?: {city: string, zip?: string}, note?: string|null, mode?: 1|boolean, extra?: any) - Refund an order. Only once.", signature);
    }

    [Fact]
    public void A_bare_function_without_parameters_or_description_is_just_its_name_and_parentheses()
    {
        Assert.Equal("ping()", CompactToolSignatures.Signature(Schema("""{"name": "ping"}""")));
    }

    [Fact]
    public void Compact_tools_section_is_several_times_shorter_in_tokens()
    {
        var tokenizer = TestTokenizers.Chat();
        var messages = new[] { ChatMessage.User("Where is order A-1?") };

        var json = new ChatTemplate().Tokenize(tokenizer, messages, ChatTemplateRenderTests.Tools).Ids.Length;
        var compact = Compact.Tokenize(tokenizer, messages, ChatTemplateRenderTests.Tools).Ids.Length;

        Assert.True(compact * 2 < json, $"compact {compact} tokens, json {json}");
    }
}
