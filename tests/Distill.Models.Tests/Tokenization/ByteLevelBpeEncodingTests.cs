using Distill.Models.Tokenization;

namespace Distill.Models.Tests.Tokenization;

public class ByteLevelBpeEncodingTests
{
    public static TheoryData<string> UnicodeTexts => new()
    {
        "Where is my order? It was supposed to arrive on Tuesday.",
        "Emoji: 🎉🚀👍🏽 and a family 👨‍👩‍👧‍👦 (ZWJ sequence)",
        "CJK: 東京の天気は晴れです。你好，世界！한국어 텍스트",
        "Accents: café, naïve, Ångström, e\u0301 (combining), ß, Œuvre",
        "Whitespace   runs\t\ttabs  \n\n\n  newlines \r\n and trailing   ",
        "\n",
        " leading space",
        "Arabic مرحبا بالعالم and Hebrew שלום",
        "Math 𝐀𝐁𝐂 and symbols ∑∫√ ≤ ≥ — «quotes»",
        "",
    };

    [Theory]
    [MemberData(nameof(UnicodeTexts))]
    public void Decode_of_encode_round_trips_unicode_text_with_own_engine(string text)
    {
        var tokenizer = TestTokenizers.Chat(TokenizerEngine.Own);

        Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
    }

    [Theory]
    [MemberData(nameof(UnicodeTexts))]
    public void Decode_of_encode_round_trips_unicode_text_with_ml_tokenizers_engine(string text)
    {
        var tokenizer = TestTokenizers.Chat(TokenizerEngine.MlTokenizers);

        Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
    }

    [Theory]
    [MemberData(nameof(UnicodeTexts))]
    public void Ml_tokenizers_engine_encodes_exactly_like_own_engine(string text)
    {
        var withSpecials = $"<|im_start|>user\n{text}<|im_end|>\n<tool_call>\n{text}\n</tool_call>";

        Assert.Equal(
            TestTokenizers.Chat(TokenizerEngine.Own).Encode(withSpecials),
            TestTokenizers.Chat(TokenizerEngine.MlTokenizers).Encode(withSpecials));
    }

    [Fact]
    public void Very_long_unbroken_word_encodes_quickly_and_round_trips()
    {
        var tokenizer = TestTokenizers.Chat(TokenizerEngine.Own);
        var word = string.Concat(Enumerable.Repeat("Tuesdayorderrefund", 20_000));

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var ids = tokenizer.Encode(word);
        clock.Stop();

        Assert.Equal(word, tokenizer.Decode(ids));
        // 360k bytes: quadratic merging would take minutes.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"encoding took {clock.Elapsed}");
    }

    [Fact]
    public void Merges_make_frequent_words_shorter_than_their_bytes()
    {
        var tokenizer = TestTokenizers.Chat();
        const string text = "Please look up order A-10023 and tell me the shipment status.";

        Assert.True(tokenizer.Encode(text).Length < System.Text.Encoding.UTF8.GetByteCount(text) / 2);
    }

    [Theory]
    [InlineData(TokenizerEngine.Own)]
    [InlineData(TokenizerEngine.MlTokenizers)]
    public void Chat_special_tokens_encode_to_single_ids(TokenizerEngine engine)
    {
        var tokenizer = TestTokenizers.Chat(engine);

        foreach (var special in ChatTokens.All)
        {
            var ids = tokenizer.Encode($"a{special}b");
            Assert.Equal(3, ids.Length);
            Assert.Equal(tokenizer.TokenToId(special), ids[1]);
            Assert.Equal(special, tokenizer.IdToToken(ids[1]));
        }
    }

    [Theory]
    [InlineData(TokenizerEngine.Own)]
    [InlineData(TokenizerEngine.MlTokenizers)]
    public void Decode_can_skip_special_tokens(TokenizerEngine engine)
    {
        var tokenizer = TestTokenizers.Chat(engine);
        var ids = tokenizer.Encode("<|im_start|>assistant\nHi there<|im_end|>");

        Assert.Equal("assistant\nHi there", tokenizer.Decode(ids, skipSpecialTokens: true));
        Assert.Equal("<|im_start|>assistant\nHi there<|im_end|>", tokenizer.Decode(ids));
    }

    [Theory]
    [InlineData(TokenizerEngine.Own)]
    [InlineData(TokenizerEngine.MlTokenizers)]
    public void Decode_skips_ids_outside_the_vocabulary(TokenizerEngine engine)
    {
        var tokenizer = TestTokenizers.Chat(engine);
        var ids = tokenizer.Encode("ok").Concat([-1, tokenizer.VocabSize + 5]).ToArray();

        Assert.Equal("ok", tokenizer.Decode(ids));
    }

    [Fact]
    public void ChatMl_names_resolve_eos_and_pad_and_no_bos()
    {
        var tokenizer = TestTokenizers.Chat();

        Assert.Null(tokenizer.BosId);
        Assert.Equal(tokenizer.TokenToId("<|im_end|>"), tokenizer.EosId);
        Assert.Equal(tokenizer.TokenToId("<|endoftext|>"), tokenizer.PadId);
        Assert.Equal(TestTokenizers.ChatDefinition.Vocab.Count, tokenizer.VocabSize);
    }

    [Fact]
    public void Auto_engine_uses_ml_tokenizers_for_plain_byte_level_bpe()
    {
        Assert.IsType<MlTokenizersBpeTokenizer>(TestTokenizers.Chat());
    }
}
