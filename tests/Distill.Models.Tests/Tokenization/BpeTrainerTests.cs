using System.Diagnostics;
using Distill.Models.Tokenization;

namespace Distill.Models.Tests.Tokenization;

public class BpeTrainerTests
{
    [Fact]
    public void Most_frequent_pair_is_merged_first()
    {
        // Words: "ab" x1, "Ġab" x2, "Ġcd" x1. Pair counts: (a,b)=3, (Ġ,a)=2, (Ġ,c)=1, (c,d)=1.
        // After "a b": (Ġ,ab)=2 leads. Then only count-1 pairs remain, below the default minimum of 2.
        var definition = BpeTrainer.Train(["ab ab ab cd"], vocabSize: 1000, specialTokens: []);

        Assert.Equal([("a", "b"), ("Ġ", "ab")], definition.Merges);
        Assert.Equal(256 + 2, definition.Vocab.Count);
        Assert.Equal(256, definition.Vocab["ab"]);
        Assert.Equal(257, definition.Vocab["Ġab"]);
    }

    [Fact]
    public void Ties_go_to_the_pair_of_smaller_ids_and_training_is_deterministic()
    {
        // (x,y) and (a,b) both occur twice; 'a' has a smaller id than 'x', so "a b" comes first.
        string[] corpus = ["xy", "ab", "xy", "ab"];
        var first = BpeTrainer.Train(corpus, vocabSize: 258, specialTokens: []);
        var second = BpeTrainer.Train(corpus.Reverse(), vocabSize: 258, specialTokens: []);

        Assert.Equal(("a", "b"), first.Merges[0]);
        Assert.Equal(first.Merges, second.Merges);
    }

    [Fact]
    public void Vocabulary_reaches_the_requested_size_with_special_tokens_first()
    {
        var definition = TestTokenizers.ChatDefinition;

        Assert.Equal(600, definition.Vocab.Count);
        Assert.Equal(600 - ChatTokens.All.Count - 256, definition.Merges.Count);
        for (var i = 0; i < ChatTokens.All.Count; i++)
        {
            Assert.Equal(i, definition.Vocab[ChatTokens.All[i]]);
        }
        Assert.Equal(ChatTokens.All.Count + ' ', definition.Vocab["Ġ"]);
    }

    [Fact]
    public void Special_tokens_in_the_corpus_are_never_merged_into_other_tokens()
    {
        var corpus = Enumerable.Repeat("<|im_start|>user\nhi<|im_end|>", 50);

        var definition = BpeTrainer.Train(corpus, vocabSize: 400, ChatTokens.All);

        Assert.DoesNotContain(definition.Vocab.Keys, k => k.Contains("im_") && !ChatTokens.All.Contains(k));
    }

    [Fact]
    public void Vocabulary_smaller_than_bytes_plus_specials_is_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => BpeTrainer.Train(["abc"], vocabSize: 260, ChatTokens.All));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Training_4k_vocabulary_on_2_MB_takes_seconds()
    {
        var corpus = TrainingCorpus.ZipfText(2_000_000).ToList();
        Assert.InRange(corpus.Sum(d => d.Length), 1_500_000, 3_000_000);

        var clock = Stopwatch.StartNew();
        var definition = BpeTrainer.Train(corpus, vocabSize: 4096, ChatTokens.All);
        clock.Stop();

        Assert.Equal(4096, definition.Vocab.Count);
        // Generous for a shared 2-core machine; a recount-per-merge trainer takes minutes here.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"training took {clock.Elapsed}");
        Console.WriteLine($"BPE training: {corpus.Sum(d => d.Length)} chars, {definition.Vocab.Count} tokens, {clock.Elapsed.TotalSeconds:F1} s");
    }
}
