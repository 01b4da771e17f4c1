using System.Text;
using System.Text.RegularExpressions;
using Distill.Models.Tokenization;

namespace Distill.Models.Tests.Tokenization;

/// <summary>
/// Qwen2's split pattern keeps every digit a token of its own, so a model copies "A10238" digit by digit instead of
/// memorising whole-id tokens. GPT-2's pattern, the trainer's default, is the control that merges digit runs.
/// </summary>
public class DigitSplitTests
{
    private static readonly Regex AnyNumber = new(@"\p{N}");
    private static readonly Regex AsciiDigit = new("[0-9]");

    private static readonly string[] Texts =
    [
        "Please look up order A10238 and B-77 for customer 4411.",
        "Total: $1,299.99 (was €1.050,00), 12% off, qty 3 x 0.25 kg",
        "Shipped 2024-03-15T08:30:00Z, due 03/18/2024 at 5pm; 1st, 22nd, 103rd.",
        """{"name": "lookup_order", "arguments": {"order_id": "A-10023", "amount": 42.50, "items": [1, 20, 300]}}""",
        "<|im_start|>user\nWhere is 900123?<|im_end|>\n<|im_start|>assistant\n<think>\nId 900123.\n</think>\nOn its way.<|im_end|>",
        "Fullwidth ２０２４, Arabic-Indic ٣٤٥, fractions ½ and ², Roman Ⅻ.",
        "  12\n\n\t7  \r\n99 ",
    ];

    public static TheoryData<string, TokenizerEngine> MixedText()
    {
        var data = new TheoryData<string, TokenizerEngine>();
        foreach (var text in Texts)
        {
            data.Add(text, TokenizerEngine.Own);
            data.Add(text, TokenizerEngine.MlTokenizers);
        }
        return data;
    }

    [Fact]
    public void Qwen2_pattern_cuts_every_digit_into_a_word_of_its_own()
    {
        var words = new WordSplitter([PreTokenizerPatterns.Qwen2]).Split("Order A10238 costs $12.50");

        Assert.Equal(["Order", " A", "1", "0", "2", "3", "8", " costs", " $", "1", "2", ".", "5", "0"], words);
    }

    [Fact]
    public void Gpt2_pattern_keeps_a_run_of_digits_in_one_word()
    {
        var words = new WordSplitter([PreTokenizerPatterns.Gpt2]).Split("Order A10238 costs $12.50");

        Assert.Equal(["Order", " A", "10238", " costs", " $", "12", ".", "50"], words);
    }

    [Fact]
    public void Qwen2_pattern_takes_contractions_in_any_case_and_keeps_newlines_after_punctuation()
    {
        // As Hugging Face's Split(Isolated) does: "'M" is a contraction under (?i:...), "!\n\n" one word, and of the
        // two spaces before "ok" the last joins the word.
        var words = new WordSplitter([PreTokenizerPatterns.Qwen2]).Split("I'M here!\n\n  ok");

        Assert.Equal(["I", "'M", " here", "!\n\n", " ", " ok"], words);
    }

    [Fact]
    public void Trainer_records_the_pattern_it_split_with()
    {
        Assert.Equal([PreTokenizerPatterns.Qwen2], TestTokenizers.SingleDigitDefinition.SplitPatterns);
        Assert.Equal([PreTokenizerPatterns.Gpt2], TestTokenizers.ChatDefinition.SplitPatterns);
    }

    [Fact]
    public void No_token_of_a_tokenizer_trained_with_the_qwen2_pattern_holds_two_digits()
    {
        var tokens = TestTokenizers.SingleDigitDefinition.Vocab.Keys.Select(TokenText).ToList();

        Assert.All(tokens, token => Assert.True(AnyNumber.Count(token) <= 1, $"token \"{token}\" holds several digits"));
        // The corpus does have digits, so single-digit tokens exist; they are just never merged with anything.
        Assert.Contains("0", tokens);
    }

    [Fact]
    public void The_same_corpus_split_with_the_gpt2_pattern_merges_digit_runs_into_tokens()
    {
        // The control for the test above: without the pattern, ids such as 10023 become tokens of their own.
        Assert.Contains(TestTokenizers.ChatDefinition.Vocab.Keys.Select(TokenText), token => AnyNumber.Count(token) >= 2);
    }

    [Theory]
    [InlineData(TokenizerEngine.Own)]
    [InlineData(TokenizerEngine.MlTokenizers)]
    public void An_order_id_encodes_one_token_per_digit(TokenizerEngine engine)
    {
        var tokenizer = TestTokenizers.SingleDigit(engine);

        Assert.Equal(["A", "1", "0", "2", "3", "8"], tokenizer.Encode("A10238").Select(id => tokenizer.Decode([id])));
        var inSentence = tokenizer.Encode("Please look up order A10238.").Select(id => tokenizer.Decode([id]));
        Assert.Equal(["1", "0", "2", "3", "8"], inSentence.Where(token => AsciiDigit.IsMatch(token)));
    }

    [Theory]
    [MemberData(nameof(MixedText))]
    public void Mixed_text_round_trips_with_every_digit_its_own_token(string text, TokenizerEngine engine)
    {
        var tokenizer = TestTokenizers.SingleDigit(engine);

        var ids = tokenizer.Encode(text);

        Assert.Equal(text, tokenizer.Decode(ids));
        var tokens = ids.Select(id => tokenizer.Decode([id])).ToList();
        Assert.All(tokens, token => Assert.True(AnyNumber.Count(token) <= 1, $"token \"{token}\" holds several digits"));
        Assert.Equal(AsciiDigit.Count(text), tokens.Count(token => token.Length == 1 && AsciiDigit.IsMatch(token)));
    }

    [Fact]
    public void Both_engines_split_with_the_qwen2_pattern_identically()
    {
        var own = TestTokenizers.SingleDigit(TokenizerEngine.Own);
        var library = TestTokenizers.SingleDigit(TokenizerEngine.MlTokenizers);

        foreach (var text in Texts)
        {
            Assert.Equal(own.Encode(text), library.Encode(text));
        }
    }

    [Fact]
    public void Written_and_reread_tokenizer_keeps_the_pattern_and_encodes_identically()
    {
        using var folder = new TempDirectory();
        TokenizerJsonWriter.WriteFile(TestTokenizers.SingleDigitDefinition, folder.File("tokenizer.json"));

        var reread = TokenizerJsonReader.ReadFile(folder.File("tokenizer.json"));
        var original = TestTokenizers.SingleDigit();
        var reloaded = TokenizerLoader.Load(folder.File("tokenizer.json"), SpecialTokenNames.ChatMl);

        Assert.Equal([PreTokenizerPatterns.Qwen2], reread.SplitPatterns);
        Assert.Equal(original.TokenizerId, reloaded.TokenizerId);
        foreach (var text in Texts)
        {
            Assert.Equal(original.Encode(text), reloaded.Encode(text));
        }
    }

    /// <summary>The text a vocabulary entry stands for (a lone byte of a multi-byte character decodes to U+FFFD).</summary>
    private static string TokenText(string byteLevelToken)
    {
        var bytes = byteLevelToken.Select(c => ByteLevelAlphabet.TryToByte(c, out var b) ? b : (byte)'?').ToArray();
        return Encoding.UTF8.GetString(bytes);
    }
}
