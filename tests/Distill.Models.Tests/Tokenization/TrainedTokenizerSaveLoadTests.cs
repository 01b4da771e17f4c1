using System.Text.Json;
using Distill.Models.Tokenization;

namespace Distill.Models.Tests.Tokenization;

public class TrainedTokenizerSaveLoadTests
{
    private static readonly string[] Probes =
    [
        "Please look up order A-10023 and tell me the shipment status.",
        "<|im_start|>assistant\n<think>\nThe user wants a refund.\n</think>\nSure 🎉<|im_end|>",
        "東京の天気は晴れです。 Schöne Grüße!\n\n\tdef f(x): return x",
    ];

    [Theory]
    [InlineData(TokenizerEngine.Own)]
    [InlineData(TokenizerEngine.MlTokenizers)]
    public void Trained_tokenizer_saved_and_reloaded_encodes_identically(TokenizerEngine engine)
    {
        using var folder = new TempDirectory();
        var trained = TestTokenizers.Chat(engine);
        TokenizerJsonWriter.WriteFile(TestTokenizers.ChatDefinition, folder.File("tokenizer.json"));

        var reloaded = TokenizerLoader.Load(folder.File("tokenizer.json"), SpecialTokenNames.ChatMl, engine);

        foreach (var probe in Probes)
        {
            Assert.Equal(trained.Encode(probe), reloaded.Encode(probe));
        }
        Assert.Equal(trained.VocabSize, reloaded.VocabSize);
    }

    [Fact]
    public void Tokenizer_id_is_stable_across_save_and_load()
    {
        using var folder = new TempDirectory();
        TokenizerJsonWriter.WriteFile(TestTokenizers.ChatDefinition, folder.File("tokenizer.json"));
        TokenizerJsonWriter.WriteFile(TokenizerJsonReader.ReadFile(folder.File("tokenizer.json")), folder.File("again.json"));

        var original = TestTokenizers.Chat().TokenizerId;

        Assert.Matches("^[0-9a-f]{16}$", original);
        Assert.Equal(original, TokenizerLoader.Load(folder.File("tokenizer.json")).TokenizerId);
        Assert.Equal(original, TokenizerLoader.Load(folder.File("again.json")).TokenizerId);
        Assert.Equal(File.ReadAllText(folder.File("tokenizer.json")), File.ReadAllText(folder.File("again.json")));
    }

    [Fact]
    public void Tokenizer_id_differs_for_a_different_vocabulary()
    {
        var smaller = BpeTrainer.Train(TrainingCorpus.Documents(400), vocabSize: 500, ChatTokens.All);
        var otherSpecials = BpeTrainer.Train(TrainingCorpus.Documents(400), vocabSize: 600, ["<|endoftext|>"]);

        var ids = new[] { TestTokenizers.ChatDefinition, smaller, otherSpecials }.Select(TokenizerIdentity.Compute).ToList();

        Assert.Equal(3, ids.Distinct().Count());
    }

    [Fact]
    public void Saved_tokenizer_json_has_the_hugging_face_layout()
    {
        using var document = JsonDocument.Parse(TokenizerJsonWriter.ToJson(TestTokenizers.ChatDefinition));
        var root = document.RootElement;
        var model = root.GetProperty("model");

        Assert.Equal("1.0", root.GetProperty("version").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("normalizer").ValueKind);
        var pre = root.GetProperty("pre_tokenizer");
        Assert.Equal("ByteLevel", pre.GetProperty("type").GetString());
        Assert.False(pre.GetProperty("add_prefix_space").GetBoolean());
        Assert.True(pre.GetProperty("use_regex").GetBoolean());
        Assert.Equal("ByteLevel", root.GetProperty("decoder").GetProperty("type").GetString());
        Assert.Equal("BPE", model.GetProperty("type").GetString());
        foreach (var nullField in new[] { "dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix" })
        {
            Assert.Equal(JsonValueKind.Null, model.GetProperty(nullField).ValueKind);
        }
        Assert.False(model.GetProperty("byte_fallback").GetBoolean());
        Assert.Equal(TestTokenizers.ChatDefinition.Merges.Count, model.GetProperty("merges").GetArrayLength());
        var added = root.GetProperty("added_tokens").EnumerateArray().ToList();
        Assert.Equal(ChatTokens.All, added.Select(t => t.GetProperty("content").GetString()));
        Assert.All(added, t => Assert.True(t.GetProperty("special").GetBoolean()));
        // Added tokens are also model vocabulary entries with the same ids, as Hugging Face's trainer writes them.
        Assert.All(added, t => Assert.Equal(t.GetProperty("id").GetInt32(), model.GetProperty("vocab").GetProperty(t.GetProperty("content").GetString()!).GetInt32()));
    }

    [Fact]
    public void Saved_model_folder_restores_special_token_roles_on_load()
    {
        using var folder = new TempDirectory();
        var names = new SpecialTokenNames(Bos: "<|endoftext|>", Eos: "<|im_end|>", Pad: "<|endoftext|>");

        TokenizerConfigWriter.SaveModelFolder(folder.Path, TestTokenizers.ChatDefinition, names);
        var reloaded = TokenizerLoader.Load(folder.File("tokenizer.json"));

        Assert.Equal(reloaded.TokenToId("<|endoftext|>"), reloaded.BosId);
        Assert.Equal(reloaded.TokenToId("<|im_end|>"), reloaded.EosId);
        Assert.Equal(reloaded.TokenToId("<|endoftext|>"), reloaded.PadId);
    }

    [Fact]
    public void Split_patterns_nfc_and_ignore_merges_survive_a_write_and_read()
    {
        var llama3Like = TestTokenizers.ChatDefinition with
        {
            SplitPatterns = [PreTokenizerPatterns.Llama3],
            NormalizeNfc = true,
            IgnoreMerges = true,
        };

        var reread = TokenizerJsonReader.Read(TokenizerJsonWriter.ToJson(llama3Like), "llama3-like.json");

        Assert.Equal(llama3Like.SplitPatterns, reread.SplitPatterns);
        Assert.True(reread.NormalizeNfc);
        Assert.True(reread.IgnoreMerges);
        Assert.Equal(llama3Like.Merges, reread.Merges);
        var tokenizer = TokenizerLoader.Create(reread);
        // NFC joins "e" + combining acute into "é" before encoding.
        Assert.Equal("café", tokenizer.Decode(tokenizer.Encode("cafe\u0301")));
    }
}
