using Distill.Core.Errors;
using Distill.Core.Samples;
using Distill.Models.Chat;
using Distill.Models.Tests.Tokenization;
using Distill.Models.Tokenization;

namespace Distill.Models.Tests.Chat;

public class ChatTemplateAssistantMaskTests
{
    private static IReadOnlyList<ChatMessage> Conversation =>
    [
        .. ChatTemplateRenderTests.ToolConversation,
        ChatMessage.Assistant("De rien ! 😊", reasoning: "User is thanking; answer briefly."),
    ];

    [Theory]
    [InlineData(TokenizerEngine.Own)]
    [InlineData(TokenizerEngine.MlTokenizers)]
    public void Assistant_mask_selects_exactly_the_assistant_text(TokenizerEngine engine)
    {
        var tokenizer = TestTokenizers.Chat(engine);
        var template = new ChatTemplate();

        var tokenized = template.Tokenize(tokenizer, Conversation, ChatTemplateRenderTests.Tools);

        var expectedAssistantText = string.Concat(Conversation.Where(m => m.Role == ChatRoles.Assistant)
            .Select(m => ChatTemplate.AssistantOutput(m) + "<|im_end|>"));
        var masked = tokenized.Ids.Where((_, i) => tokenized.AssistantMask[i]);
        Assert.Equal(expectedAssistantText, tokenizer.Decode(masked));
        Assert.Equal(template.Render(Conversation, ChatTemplateRenderTests.Tools).Text, tokenizer.Decode(tokenized.Ids));
    }

    [Fact]
    public void Prompt_system_and_tool_results_are_masked_out()
    {
        var tokenizer = TestTokenizers.Chat();

        var tokenized = new ChatTemplate().Tokenize(tokenizer, Conversation, ChatTemplateRenderTests.Tools);

        var unmasked = tokenizer.Decode(tokenized.Ids.Where((_, i) => !tokenized.AssistantMask[i]));
        Assert.Contains("# Tools", unmasked);
        Assert.Contains("Where is order A-1?", unmasked);
        Assert.Contains("<tool_response>\n{\"status\": \"shipped\"}\n</tool_response>", unmasked);
        Assert.DoesNotContain("Lyon.", unmasked);
        Assert.DoesNotContain("<tool_call>\n{\"name\": \"lookup_order\"", unmasked);
        // Every assistant turn ends with a learned <|im_end|>: that is how the model learns to stop.
        var imEnd = tokenizer.TokenToId("<|im_end|>");
        var learnedEnds = tokenized.Ids.Where((id, i) => id == imEnd && tokenized.AssistantMask[i]).Count();
        Assert.Equal(Conversation.Count(m => m.Role == ChatRoles.Assistant), learnedEnds);
    }

    [Fact]
    public void Labels_carry_ids_on_assistant_tokens_and_ignore_elsewhere()
    {
        var tokenized = new ChatTemplate().Tokenize(TestTokenizers.Chat(), Conversation);

        var labels = tokenized.Labels();

        Assert.Equal(tokenized.Ids.Length, labels.Length);
        for (var i = 0; i < labels.Length; i++)
        {
            Assert.Equal(tokenized.AssistantMask[i] ? tokenized.Ids[i] : TokenizedChat.IgnoreLabel, labels[i]);
        }
        Assert.Contains(labels, l => l == TokenizedChat.IgnoreLabel);
        Assert.Contains(labels, l => l != TokenizedChat.IgnoreLabel);
    }

    [Fact]
    public void Generated_assistant_tokens_decode_and_parse_back_to_the_turn()
    {
        var tokenizer = TestTokenizers.Chat();
        var conversation = ChatTemplateRenderTests.ToolConversation.Take(3).ToList();
        var tokenized = new ChatTemplate().Tokenize(tokenizer, conversation, ChatTemplateRenderTests.Tools);

        var parsed = AssistantTurnParser.Parse(tokenizer.Decode(tokenized.Ids.Where((_, i) => tokenized.AssistantMask[i])));

        Assert.Empty(parsed.Errors);
        AssistantTurnAssert.Equal(conversation[2], parsed.ToChatMessage());
    }

    [Fact]
    public void Generation_prompt_is_not_masked_and_ends_the_ids()
    {
        var tokenizer = TestTokenizers.Chat();

        var tokenized = new ChatTemplate().Tokenize(tokenizer, [ChatMessage.User("Hi")], addGenerationPrompt: true);

        Assert.All(tokenized.AssistantMask, Assert.False);
        Assert.EndsWith("<|im_start|>assistant\n", tokenizer.Decode(tokenized.Ids));
    }

    [Fact]
    public void Tokenizer_without_chat_markers_is_refused()
    {
        var plain = TokenizerLoader.Create(BpeTrainer.Train(TrainingCorpus.Documents(20), 300, []));

        var error = Assert.Throws<DistillException>(() => new ChatTemplate().Tokenize(plain, [ChatMessage.User("Hi")]));

        Assert.Contains("<|im_start|>", error.Message);
    }
}
