using System.Diagnostics;
using System.Text.Json;
using Distill.Models.Chat;
using Distill.Models.Generation;
using Distill.Models.Llama;
using Distill.Models.Tokenization;
using Distill.Server.Constraints;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Distill.Server.Tests.Constraints;

public class ToolCallConstraintTests(ITestOutputHelper output) : TorchTest
{
    static readonly ITextTokenizer Tokenizer = TokenizerLoader.Create(BpeTrainer.Train(
        Enumerable.Range(0, 60).Select(i => $"<tool_call>\n{{\"name\": \"weather\", \"arguments\": {{\"city\": \"Paris {i}\", \"days\": {i}}}}}\n</tool_call> Köln €{i}"),
        420, ChatTokens.All));

    static readonly TokenVocabulary Vocabulary = new(Tokenizer, Tokenizer.VocabSize);
    static readonly long ImEnd = Tokenizer.AddedTokens[ChatTokens.ImEnd];
    static readonly ToolCallGrammar Grammar = ToolCallGrammar.Compile(JsonGrammarTests.WeatherTools);

    /// <summary>Picks uniformly among the allowed tokens until the end token or the budget: the worst "model" there is.</summary>
    static (List<int> Ids, bool Ended) RandomWalk(ToolCallConstraint constraint, int maxTokens, Random random)
    {
        var ids = new List<int>();
        var allowed = new bool[Tokenizer.VocabSize];
        for (var step = 0; step < maxTokens; step++)
        {
            constraint.FillAllowed(allowed);
            var choices = Enumerable.Range(0, allowed.Length).Where(i => allowed[i]).ToList();
            Assert.NotEmpty(choices);
            var id = choices[random.Next(choices.Count)];
            constraint.Advance(id);
            if (id == ImEnd)
            {
                return (ids, true);
            }
            ids.Add(id);
        }
        return (ids, false);
    }

    static void AssertValidCall(string text, string toolsJson)
    {
        var turn = AssistantTurnParser.Parse(text);
        Assert.True(turn.Errors.Count == 0, string.Join("; ", turn.Errors) + "\n" + text);
        var call = Assert.Single(turn.ToolCalls);
        using var tools = JsonDocument.Parse(toolsJson);
        var schema = tools.RootElement.EnumerateArray().Single(t => t.GetProperty("function").GetProperty("name").GetString() == call.Name)
            .GetProperty("function").GetProperty("parameters");
        using var arguments = JsonDocument.Parse(call.Arguments);
        var errors = SchemaValidator.Validate(arguments.RootElement, schema);
        Assert.True(errors.Count == 0, string.Join("; ", errors) + "\n" + call.Arguments);
    }

    [Fact]
    public void Random_tokens_under_the_constraint_always_give_a_valid_call_within_the_budget()
    {
        for (var seed = 0; seed < 40; seed++)
        {
            var random = new Random(seed);
            var maxTokens = random.Next(60, 240);
            var constraint = new ToolCallConstraint(Grammar, Vocabulary, [ImEnd], maxTokens, "<tool_call>\n");

            var (ids, ended) = RandomWalk(constraint, maxTokens, random);

            Assert.True(ended, $"seed {seed}: no end of turn within {maxTokens} tokens");
            AssertValidCall("<tool_call>\n" + Tokenizer.Decode(ids), JsonGrammarTests.WeatherTools);
        }
    }

    [Fact]
    public void Bulk_acceptance_of_plain_tokens_in_strings_allows_exactly_what_the_byte_walk_allows()
    {
        for (var seed = 0; seed < 20; seed++)
        {
            var random = new Random(seed);
            var maxTokens = random.Next(40, 200);
            var fast = new ToolCallConstraint(Grammar, Vocabulary, [ImEnd], maxTokens, "<tool_call>\n");
            var slow = new ToolCallConstraint(Grammar, Vocabulary, [ImEnd], maxTokens, "<tool_call>\n") { BulkPlainTokens = false };
            var a = new bool[Tokenizer.VocabSize];
            var b = new bool[Tokenizer.VocabSize];
            for (var step = 0; step < maxTokens; step++)
            {
                fast.FillAllowed(a);
                slow.FillAllowed(b);
                Assert.Equal(b, a);
                var choices = Enumerable.Range(0, a.Length).Where(i => a[i]).ToList();
                var id = choices[random.Next(choices.Count)];
                fast.Advance(id);
                slow.Advance(id);
                if (id == ImEnd)
                {
                    break;
                }
            }
        }
    }

    [Fact]
    public void The_smallest_sufficient_budget_still_finishes_and_a_smaller_one_cannot()
    {
        const string prefill = "<tool_call>\n{\"name\": \"weather\", \"arguments\": ";
        var probe = new ToolCallConstraint(Grammar, Vocabulary, [ImEnd], 1000, prefill);
        var smallest = probe.State.MinRemaining + 1; // one byte per token at worst, then <|im_end|>

        for (var seed = 0; seed < 10; seed++)
        {
            var (ids, ended) = RandomWalk(new ToolCallConstraint(Grammar, Vocabulary, [ImEnd], smallest, prefill), smallest, new Random(seed));
            Assert.True(ended);
            AssertValidCall(prefill + Tokenizer.Decode(ids), JsonGrammarTests.WeatherTools);
        }
        var (_, endedShort) = RandomWalk(new ToolCallConstraint(Grammar, Vocabulary, [ImEnd], 3, prefill), 3, new Random(0));
        Assert.False(endedShort);
    }

    [Fact]
    public void Generator_masks_constrained_rows_and_leaves_the_others_alone()
    {
        manual_seed(5);
        using var model = new LlamaForCausalLM(ModelPresets.Get("tiny-test", Tokenizer.VocabSize));
        var prompt = Tokenizer.Encode("<|im_start|>user\nweather?<|im_end|>\n<|im_start|>assistant\n<tool_call>\n").Select(i => (long)i).ToList();
        var free = Tokenizer.Encode("<|im_start|>user\nhi<|im_end|>\n").Select(i => (long)i).ToList();
        var options = new GenerationOptions { MaxNewTokens = 100, Temperature = 0, StopTokenIds = [ImEnd] };

        var alone = LlamaGenerator.Generate(model, [free], options)[0];
        var constraint = new ToolCallConstraint(Grammar, Vocabulary, [ImEnd], options.MaxNewTokens, "<tool_call>\n");
        var batch = LlamaGenerator.Generate(model, [prompt, free], options, constraints: [constraint, null]);

        Assert.Equal(FinishReason.Stop, batch[0].FinishReason);
        AssertValidCall("<tool_call>\n" + Tokenizer.Decode(batch[0].TokenIds.Select(t => (int)t)), JsonGrammarTests.WeatherTools);
        Assert.Equal(alone.TokenIds, batch[1].TokenIds);
    }

    [Fact]
    public void Sampled_rows_follow_the_schema_for_every_seed()
    {
        manual_seed(9);
        using var model = new LlamaForCausalLM(ModelPresets.Get("tiny-test", Tokenizer.VocabSize));
        var prompt = Tokenizer.Encode("<|im_start|>assistant\n<tool_call>\n").Select(i => (long)i).ToList();
        for (var seed = 0UL; seed < 10; seed++)
        {
            var options = new GenerationOptions { MaxNewTokens = 110, Temperature = 1.0, TopP = 0.95, Seed = seed, StopTokenIds = [ImEnd] };
            var constraint = new ToolCallConstraint(Grammar, Vocabulary, [ImEnd], options.MaxNewTokens, "<tool_call>\n");

            var result = LlamaGenerator.Generate(model, [prompt], options, constraints: [constraint])[0];

            Assert.Equal(FinishReason.Stop, result.FinishReason);
            AssertValidCall("<tool_call>\n" + Tokenizer.Decode(result.TokenIds.Select(t => (int)t)), JsonGrammarTests.WeatherTools);
        }
    }

    [Fact]
    public void Mask_cost_per_token_at_a_4k_vocabulary()
    {
        // A 4k byte-level BPE over varied text, like the world tokenizer's size.
        var syllables = new[] { "ka", "lo", "mi", "ne", "ru", "st", "or", "an", "ti", "qu", "be", "za", "ph", "ou", "ei", "xy" };
        var random = new Random(1);
        var corpus = Enumerable.Range(0, 4000).Select(_ => string.Join(' ', Enumerable.Range(0, 12).Select(_ =>
            string.Concat(Enumerable.Range(0, random.Next(1, 5)).Select(_ => syllables[random.Next(syllables.Length)])) +
            (random.Next(4) == 0 ? "\", \"" : random.Next(3) == 0 ? ": " : ""))));
        var tokenizer = TokenizerLoader.Create(BpeTrainer.Train(corpus, 4096, ChatTokens.All));
        var build = Stopwatch.StartNew();
        var vocabulary = new TokenVocabulary(tokenizer, tokenizer.VocabSize);
        build.Stop();
        var imEnd = (long)tokenizer.AddedTokens[ChatTokens.ImEnd];

        var constraint = new ToolCallConstraint(Grammar, vocabulary, [imEnd], 400, WeatherPrefill);
        var allowed = new bool[tokenizer.VocabSize];
        var walk = new Random(3);
        for (var step = 0; step < 400; step++)
        {
            constraint.FillAllowed(allowed);
            var choices = Enumerable.Range(0, allowed.Length).Where(i => allowed[i]).ToList();
            var id = choices[walk.Next(choices.Count)];
            constraint.Advance(id);
            if (id == imEnd)
            {
                break;
            }
        }

        var perStep = constraint.MaskTime.TotalMilliseconds / constraint.Steps;
        output.WriteLine($"vocab {tokenizer.VocabSize}: trie {vocabulary.NodeCount} nodes built in {build.ElapsedMilliseconds} ms; " +
                         $"mask {perStep:F3} ms per token over {constraint.Steps} tokens");
        Assert.True(perStep < 50, $"{perStep} ms per token");
    }

    [Fact]
    public void Mask_cost_per_token_at_a_150k_vocabulary()
    {
        // Qwen2.5's vocabulary size, synthetic: words with and without a leading space, JSON punctuation runs, CJK pieces.
        var random = new Random(2);
        var letters = "etaoinshrdlucmfwypvbgkjqxz";
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var special in ChatTokens.All)
        {
            vocab[special] = vocab.Count;
        }
        foreach (var c in ByteLevelAlphabet.Characters)
        {
            vocab[c.ToString()] = vocab.Count;
        }
        while (vocab.Count < 151_000)
        {
            var kind = random.Next(20);
            var text = kind switch
            {
                < 13 => " " + Word(random, letters),
                < 18 => Word(random, letters),
                18 => string.Concat(Enumerable.Range(0, random.Next(2, 4)).Select(_ => Punctuation[random.Next(Punctuation.Length)])),
                _ => string.Concat(Enumerable.Range(0, random.Next(1, 3)).Select(_ => (char)random.Next(0x4E00, 0x9FFF))),
            };
            vocab.TryAdd(ByteLevelAlphabet.Encode(text), vocab.Count);
        }
        var definition = new BpeTokenizerDefinition
        {
            Vocab = vocab,
            Merges = [],
            AddedTokens = ChatTokens.All.Select(t => new AddedToken(vocab[t], t, Special: true)).ToList(),
        };
        var tokenizer = TokenizerLoader.Create(definition);
        var build = Stopwatch.StartNew();
        var vocabulary = new TokenVocabulary(tokenizer, tokenizer.VocabSize);
        build.Stop();
        var imEnd = (long)tokenizer.AddedTokens[ChatTokens.ImEnd];

        var constraint = new ToolCallConstraint(Grammar, vocabulary, [imEnd], 60, WeatherPrefill);
        var allowed = new bool[tokenizer.VocabSize];
        var walk = new Random(3);
        for (var step = 0; step < 60; step++)
        {
            constraint.FillAllowed(allowed);
            var choices = Enumerable.Range(0, allowed.Length).Where(i => allowed[i]).ToList();
            var id = choices[walk.Next(choices.Count)];
            constraint.Advance(id);
            if (id == imEnd)
            {
                break;
            }
        }

        var perStep = constraint.MaskTime.TotalMilliseconds / constraint.Steps;
        output.WriteLine($"vocab {tokenizer.VocabSize}: trie {vocabulary.NodeCount} nodes built in {build.ElapsedMilliseconds} ms; " +
                         $"mask {perStep:F3} ms per token over {constraint.Steps} tokens");
        Assert.True(perStep < 1000, $"{perStep} ms per token");
    }

    // The weather call has strings, numbers and nested objects to write; "ping" would be {} and measure nothing.
    const string WeatherPrefill = "<tool_call>\n{\"name\": \"weather\", \"arguments\": ";

    const string Punctuation = "{}[]\\\",: 0123456789";

    static string Word(Random random, string letters) =>
        string.Concat(Enumerable.Range(0, random.Next(1, 9)).Select(_ => letters[Math.Min(random.Next(letters.Length), random.Next(letters.Length))]));
}
