using Distill.Core.Samples;
using Distill.Models.Chat;
using Distill.Training.Data;

namespace Distill.Training.Tests.Data;

/// <summary><c>loss.prompt_weight</c>'s data: every real token is labelled exactly once, as assistant output or as prompt.</summary>
[Collection(TrainingCollection.Name)]
public class PromptLabelsTests(TrainingFixture fx)
{
    private Sample Trace() => new()
    {
        Id = "prompt-labels",
        Kind = SampleKinds.ToolTrace,
        Tools = fx.Tools,
        Messages =
        [
            ChatMessage.User("Where is my order A1003?"),
            ChatMessage.Assistant(null, [new ToolCall("call_1", "lookup_order", """{"order_id":"A1003"}""")]),
            ChatMessage.Tool("call_1", "lookup_order", """{"order_id":"A1003","status":"shipped"}"""),
            ChatMessage.Assistant("Your order A1003 has shipped."),
        ],
    };

    [Fact]
    public void Prompt_labels_are_the_complement_of_the_assistant_labels()
    {
        var sample = Trace();
        var example = new SampleEncoder(fx.Tokenizer, 4096, promptLabels: true).Encode(sample).Examples.Single();
        var chat = new ChatTemplate().Tokenize(fx.Tokenizer, sample.Messages, sample.Tools);

        var prompt = example.PromptLabels!;
        for (var t = 0; t < example.Length; t++)
        {
            var next = chat.Ids[t + 1];
            Assert.Equal(chat.AssistantMask[t + 1] ? next : TokenizedChatLabels.Ignore, example.Labels[t]);
            Assert.Equal(chat.AssistantMask[t + 1] ? TokenizedChatLabels.Ignore : next, prompt[t]);
        }
        // The tool result's text (which repeats the order id) is among the prompt labels.
        var toolResult = fx.Tokenizer.Encode("shipped");
        Assert.Contains(toolResult[0], prompt);
    }

    [Fact]
    public void Without_prompt_weight_no_prompt_labels_are_built_or_batched()
    {
        var example = new SampleEncoder(fx.Tokenizer, 4096).Encode(Trace()).Examples.Single();
        Assert.Null(example.PromptLabels);
        var batch = new BatchPlan([example], 2, 256, BatchingMode.Bucket, 1, 0, 0).Epoch(0).Single();
        Assert.Null(batch.PromptLabels);
    }

    [Fact]
    public void Batches_carry_prompt_labels_row_by_row_with_padding_ignored()
    {
        var encoder = new SampleEncoder(fx.Tokenizer, 4096, promptLabels: true);
        var example = encoder.Encode(Trace()).Examples.Single();
        var batch = new BatchPlan([example], 2, example.Length + 3, BatchingMode.Bucket, 1, 0, 0, shuffle: false).Epoch(0).Single();

        var prompt = batch.PromptLabels!;
        Assert.Equal(example.PromptLabels!.Select(l => (long)l), prompt.Take(example.Length));
        Assert.All(prompt.Skip(example.Length), l => Assert.Equal(TokenizedChatLabels.Ignore, l));
    }
}
