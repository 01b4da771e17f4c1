using Distill.Core.Errors;
using Distill.Models.Tokenization;

namespace Distill.Models.Tests.Tokenization;

public class UnsupportedTokenizerTests
{
    [Theory]
    [InlineData("""{"model": {"type": "Unigram", "vocab": [["a", -1.0]]}}""", "Unigram")]
    [InlineData("""{"model": {"type": "WordPiece", "vocab": {"a": 0}, "unk_token": "[UNK]"}}""", "WordPiece")]
    [InlineData("""{"model": {"type": "WordLevel", "vocab": {"a": 0}}}""", "WordLevel")]
    [InlineData("""
        {"pre_tokenizer": {"type": "Metaspace", "replacement": "▁"},
         "model": {"type": "BPE", "byte_fallback": true, "vocab": {"a": 0}, "merges": []}}
        """, "byte_fallback")]
    [InlineData("""
        {"pre_tokenizer": {"type": "Metaspace", "replacement": "▁"},
         "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}
        """, "Metaspace")]
    [InlineData("""
        {"pre_tokenizer": {"type": "ByteLevel"},
         "model": {"type": "BPE", "continuing_subword_prefix": "##", "vocab": {"a": 0}, "merges": []}}
        """, "continuing_subword_prefix")]
    public void Unsupported_tokenizer_type_is_refused_naming_the_file_and_the_type(string json, string type)
    {
        using var folder = new TempDirectory();
        var path = folder.File("tokenizer.json");
        File.WriteAllText(path, json);

        var error = Assert.Throws<DistillException>(() => TokenizerLoader.Load(path));

        Assert.Contains(path, error.Message);
        Assert.Contains(type, error.Message);
        Assert.Contains("not supported", error.Message);
        Assert.NotNull(error.Hint);
    }

    [Fact]
    public void Missing_file_is_a_user_facing_error()
    {
        var error = Assert.Throws<DistillException>(() => TokenizerLoader.Load("/nonexistent/tokenizer.json"));

        Assert.Contains("/nonexistent/tokenizer.json", error.Message);
    }

    [Theory]
    [InlineData(TokenizerEngine.Own)]
    [InlineData(TokenizerEngine.MlTokenizers)]
    public void Merge_with_tokens_outside_the_vocabulary_is_reported_as_malformed(TokenizerEngine engine)
    {
        const string json = """
            {"pre_tokenizer": {"type": "ByteLevel"},
             "model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a c"]}}
            """;

        var error = Assert.Throws<DistillException>(() => TokenizerLoader.Create(TokenizerJsonReader.Read(json, "broken.json"), engine: engine));

        Assert.Contains("broken.json", error.Message);
        Assert.Contains("a c", error.Message);
    }
}
