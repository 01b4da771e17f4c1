using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Models.Tokenization;

namespace Distill.Models.Tests.Tokenization;

/// <summary>A tokenizer.json in the layout Qwen2's releases use, with a vocabulary small enough to encode by hand.</summary>
public class Qwen2TokenizerJsonTests
{
    // Qwen2's pre_tokenizer, normalizer, post_processor and decoder as its tokenizer.json writes them.
    private static readonly string PatternJson = JsonSerializer.Serialize(PreTokenizerPatterns.Qwen2);

    // Vocabulary in byte-level form ('Ġ' is the space byte). Merges, by rank: 0 "h e"  1 "l l"  2 "ll o"  3 "1 2"  4 "Ġ 1".
    // "hello A123" splits as "hello" " A" "1" "2" "3": "hello" -> he llo = [8, 10]; " A" has no merge = [4, 9];
    // each digit is a word of its own, so merges 3 and 4 never apply: [5], [6], [7].
    private static string Qwen2StyleJson => $$"""
        {
          "version": "1.0",
          "truncation": null,
          "padding": null,
          "added_tokens": [
            {"id": 13, "content": "<|endoftext|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
            {"id": 14, "content": "<|im_start|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
            {"id": 15, "content": "<|im_end|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
          ],
          "normalizer": {"type": "NFC"},
          "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
              {"type": "Split", "pattern": {"Regex": {{PatternJson}}}, "behavior": "Isolated", "invert": false},
              {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}
            ]
          },
          "post_processor": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
          "decoder": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
          "model": {
            "type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": "", "end_of_word_suffix": "",
            "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
            "vocab": {"h": 0, "e": 1, "l": 2, "o": 3, "Ġ": 4, "1": 5, "2": 6, "3": 7, "he": 8, "A": 9, "llo": 10, "ll": 11, "12": 12,
                      "Ġ1": 16},
            "merges": [["h", "e"], ["l", "l"], ["ll", "o"], ["1", "2"], ["Ġ", "1"]]
          }
        }
        """;

    [Fact]
    public void Qwen2_layout_is_read_with_its_pattern_and_encodes_each_digit_apart()
    {
        var definition = TokenizerJsonReader.Read(Qwen2StyleJson, "qwen2-like.json");
        var tokenizer = TokenizerLoader.Create(definition);

        Assert.Equal([PreTokenizerPatterns.Qwen2], definition.SplitPatterns);
        Assert.True(definition.NormalizeNfc);
        Assert.False(definition.IgnoreMerges);
        Assert.Equal([8, 10, 4, 9, 5, 6, 7, 15], tokenizer.Encode("hello A123<|im_end|>"));
        Assert.Equal("hello A123<|im_end|>", tokenizer.Decode([8, 10, 4, 9, 5, 6, 7, 15]));
        Assert.Equal(15, tokenizer.EosId);
    }

    [Fact]
    public void The_same_file_with_gpt2_splitting_would_merge_the_digits()
    {
        // The control for the test above: under GPT-2's pattern "123" is one word, and "1 2" merges inside it.
        var definition = TokenizerJsonReader.Read(Qwen2StyleJson, "qwen2-like.json") with { SplitPatterns = [PreTokenizerPatterns.Gpt2] };

        Assert.Equal([8, 10, 4, 9, 12, 7], TokenizerLoader.Create(definition).Encode("hello A123"));
    }

    [Fact]
    public void Written_pre_tokenizer_is_exactly_qwen2s()
    {
        var written = JsonNode.Parse(TokenizerJsonWriter.ToJson(TestTokenizers.SingleDigitDefinition))!;
        var qwen2 = JsonNode.Parse(Qwen2StyleJson)!;

        Assert.True(JsonNode.DeepEquals(qwen2["pre_tokenizer"], written["pre_tokenizer"]), written["pre_tokenizer"]!.ToJsonString());
    }
}
