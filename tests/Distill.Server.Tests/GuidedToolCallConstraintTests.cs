using System.Text.Json;
using Distill.Models.Chat;
using Distill.Models.Tokenization;
using Distill.Server.Constraints;
using Distill.Server.Engine;
using Distill.Server.Tests.Constraints;

namespace Distill.Server.Tests;

public sealed class GuidedToolCallConstraintTests
{
    private static readonly IEnumerable<string> Corpus = Enumerable.Range(0, 60).Select(i =>
        $"Let me check {i}.\n<tool_call>\n{{\"name\": \"weather\", \"arguments\": {{\"city\": \"Paris {i}\", \"days\": {i}}}}}\n</tool_call>");

    // With the chat markers as added tokens (as every Distill tokenizer has them), and with none: "<tool_call>" then comes as
    // several ordinary tokens, and the opener must be recognised across them.
    private static readonly ITextTokenizer WithMarkers = TokenizerLoader.Create(BpeTrainer.Train(Corpus, 420, ChatTokens.All));
    private static readonly ITextTokenizer WithoutMarkers = TokenizerLoader.Create(BpeTrainer.Train(Corpus, 420, [ChatTokens.ImEnd]));
    private static readonly ToolCallGrammar Grammar = ToolCallGrammar.Compile(RandomModelFolderServer.ToolsJson);

    private static GuidedToolCallConstraint Guide(ITextTokenizer tokenizer, int maxTokens = 400) =>
        new(Grammar, new TokenVocabulary(tokenizer, tokenizer.VocabSize), [tokenizer.AddedTokens[ChatTokens.ImEnd]], maxTokens);

    private static bool[] Allowed(GuidedToolCallConstraint guide, ITextTokenizer tokenizer)
    {
        var allowed = new bool[tokenizer.VocabSize];
        guide.FillAllowed(allowed);
        return allowed;
    }

    /// <summary>
    /// The model writes <paramref name="opening"/> itself, then the worst possible model continues: a uniformly random allowed
    /// token each step, until the guided call is complete. Returns the whole text.
    /// </summary>
    private static string OpenThenWander(ITextTokenizer tokenizer, GuidedToolCallConstraint guide, string opening, int seed)
    {
        var ids = new List<int>();
        foreach (var id in tokenizer.Encode(opening))
        {
            Assert.True(Allowed(guide, tokenizer)[id], "free text before the call must not be constrained");
            guide.Advance(id);
            ids.Add(id);
        }
        Assert.NotNull(guide.Call);
        var random = new Random(seed);
        for (var step = 0; step < 400 && guide.Call is not null; step++)
        {
            var allowed = Allowed(guide, tokenizer);
            var choices = Enumerable.Range(0, allowed.Length).Where(i => allowed[i]).ToList();
            var id = choices[random.Next(choices.Count)];
            guide.Advance(id);
            ids.Add(id);
        }
        Assert.Null(guide.Call);
        return tokenizer.Decode(ids);
    }

    private static void AssertOneValidWeatherCall(string text)
    {
        var turn = AssistantTurnParser.Parse(text);
        Assert.True(turn.Errors.Count == 0, string.Join("; ", turn.Errors) + "\n" + text);
        var call = Assert.Single(turn.ToolCalls);
        using var tools = JsonDocument.Parse(RandomModelFolderServer.ToolsJson);
        var schema = tools.RootElement[0].GetProperty("function").GetProperty("parameters");
        using var arguments = JsonDocument.Parse(call.Arguments);
        var errors = SchemaValidator.Validate(arguments.RootElement, schema);
        Assert.True(errors.Count == 0, string.Join("; ", errors) + "\n" + call.Arguments);
    }

    [Fact]
    public void Text_without_a_tool_call_is_never_constrained()
    {
        var guide = Guide(WithMarkers);
        foreach (var id in WithMarkers.Encode("Let me check 7. The weather in Paris is fine, no tool needed."))
        {
            Assert.All(Allowed(guide, WithMarkers), Assert.True);
            guide.Advance(id);
        }
        Assert.Null(guide.Call);
        Assert.Equal(0, guide.GuidedCalls);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void A_call_the_model_opens_ends_valid_for_the_schema_whatever_it_writes_next(int seed)
    {
        var guide = Guide(WithMarkers);

        var text = OpenThenWander(WithMarkers, guide, "Let me check 3.\n<tool_call>", seed);

        AssertOneValidWeatherCall(text);
        Assert.Equal(1, guide.GuidedCalls);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void An_opener_split_over_ordinary_tokens_is_recognised(int seed)
    {
        Assert.False(WithoutMarkers.AddedTokens.ContainsKey(ChatTokens.ToolCallOpen));
        Assert.True(WithoutMarkers.Encode(ChatTokens.ToolCallOpen).Length > 1);
        var guide = Guide(WithoutMarkers);

        var text = OpenThenWander(WithoutMarkers, guide, "Let me check 3.\n<tool_call>\n{\"name\": \"wea", seed);

        AssertOneValidWeatherCall(text);
    }

    [Fact]
    public void After_the_call_the_reply_is_free_again()
    {
        var guide = Guide(WithMarkers);
        OpenThenWander(WithMarkers, guide, "<tool_call>", seed: 5);

        Assert.All(Allowed(guide, WithMarkers), Assert.True);
    }
}
