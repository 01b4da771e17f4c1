using Distill.Models.Tokenization;

namespace Distill.Models.Tests.Tokenization;

/// <summary>A tokenizer small enough to encode by hand, in both merge spellings Hugging Face files use.</summary>
public class HandWrittenTokenizerJsonTests
{
    // Vocabulary in byte-level form ('Ġ' is the space byte). Merges, by rank:
    //   0 "h e"  1 "l l"  2 "ll o"  3 "Ġ w"  4 "o r"  5 "Ġw or"
    // "hello"  -> h e l l o -> he l l o -> he ll o -> he llo              = [8, 10]
    // " world" -> Ġ w o r l d -> Ġw o r l d -> Ġw or l d -> Ġwor l d      = [13, 2, 7]
    private const string Vocab = """
        {"h": 0, "e": 1, "l": 2, "o": 3, "Ġ": 4, "w": 5, "r": 6, "d": 7,
         "he": 8, "ll": 9, "llo": 10, "Ġw": 11, "or": 12, "Ġwor": 13}
        """;

    private const string StringMerges = """["h e", "l l", "ll o", "Ġ w", "o r", "Ġw or"]""";
    private const string ArrayMerges = """[["h", "e"], ["l", "l"], ["ll", "o"], ["Ġ", "w"], ["o", "r"], ["Ġw", "or"]]""";

    private static string TokenizerJson(string merges) => $$"""
        {
          "version": "1.0",
          "added_tokens": [
            {"id": 14, "content": "<|endoftext|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
          ],
          "normalizer": null,
          "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
          "post_processor": null,
          "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
          "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                    "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
                    "vocab": {{Vocab}}, "merges": {{merges}}}
        }
        """;

    public static TheoryData<string, TokenizerEngine> Variants => new()
    {
        { StringMerges, TokenizerEngine.Own },
        { StringMerges, TokenizerEngine.MlTokenizers },
        { ArrayMerges, TokenizerEngine.Own },
        { ArrayMerges, TokenizerEngine.MlTokenizers },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void Hand_written_tokenizer_encodes_to_hand_computed_ids(string merges, TokenizerEngine engine)
    {
        using var folder = new TempDirectory();
        File.WriteAllText(folder.File("tokenizer.json"), TokenizerJson(merges));

        var tokenizer = TokenizerLoader.Load(folder.File("tokenizer.json"), engine: engine);

        Assert.Equal([8, 10, 13, 2, 7, 14], tokenizer.Encode("hello world<|endoftext|>"));
        Assert.Equal("hello world<|endoftext|>", tokenizer.Decode([8, 10, 13, 2, 7, 14]));
        Assert.Equal(15, tokenizer.VocabSize);
        Assert.Equal(14, tokenizer.EosId);
    }

    [Fact]
    public void Both_merge_spellings_give_the_same_tokenizer_id()
    {
        var fromStrings = TokenizerJsonReader.Read(TokenizerJson(StringMerges), "strings.json");
        var fromArrays = TokenizerJsonReader.Read(TokenizerJson(ArrayMerges), "arrays.json");

        Assert.Equal(TokenizerIdentity.Compute(fromStrings), TokenizerIdentity.Compute(fromArrays));
    }

    [Fact]
    public void Special_token_roles_come_from_tokenizer_config_beside_the_file()
    {
        using var folder = new TempDirectory();
        File.WriteAllText(folder.File("tokenizer.json"), TokenizerJson(StringMerges));
        File.WriteAllText(folder.File("tokenizer_config.json"), """
            {"bos_token": {"content": "<|endoftext|>", "special": true}, "eos_token": "<|endoftext|>", "pad_token": null}
            """);

        var tokenizer = TokenizerLoader.Load(folder.File("tokenizer.json"));

        Assert.Equal(14, tokenizer.BosId);
        Assert.Equal(14, tokenizer.EosId);
        Assert.Null(tokenizer.PadId);
    }

    [Fact]
    public void Llama3_style_split_and_ignore_merges_use_the_own_engine_and_group_digits_by_three()
    {
        var json = TokenizerJson(StringMerges)
            .Replace("\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true}",
                $$"""
                "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                  {"type": "Split", "pattern": {"Regex": {{System.Text.Json.JsonSerializer.Serialize(PreTokenizerPatterns.Llama3)}}}, "behavior": "Isolated", "invert": false},
                  {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]}
                """)
            .Replace("\"Ġwor\": 13", "\"Ġwor\": 13, \"1\": 15, \"2\": 16, \"3\": 17, \"4\": 18, \"123\": 19, \"hellow\": 20")
            .Replace("\"byte_fallback\": false", "\"byte_fallback\": false, \"ignore_merges\": true");

        var tokenizer = TokenizerLoader.Create(TokenizerJsonReader.Read(json, "llama3-like.json"));

        Assert.IsType<ByteLevelBpeTokenizer>(tokenizer);
        // "1234" splits as "123" + "4"; "123" is a whole vocabulary word, so ignore_merges takes it without any merge.
        Assert.Equal([19, 18], tokenizer.Encode("1234"));
        // "hellow" is in the vocabulary as one word although no merge builds it.
        Assert.Equal([20], tokenizer.Encode("hellow"));
        Assert.Equal([8, 10], tokenizer.Encode("hello"));
    }
}
