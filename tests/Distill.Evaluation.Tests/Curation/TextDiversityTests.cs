using Distill.Evaluation.Curation;

namespace Distill.Evaluation.Tests.Curation;

public class TextDiversityTests
{
    [Fact]
    public void Words_are_lower_cased_letter_and_digit_runs() =>
        Assert.Equal(["hello", "world", "a10042", "ok"], TextDiversity.Words("Hello, WORLD! a10042 -- ok."));

    [Fact]
    public void Distinct_n_is_unique_n_grams_over_all_n_grams()
    {
        IReadOnlyList<string>[] texts = [["a", "b", "a"], ["b", "c"]];
        // unigrams a b a b c: 3 unique of 5; bigrams "a b", "b a", "b c": all unique.
        Assert.Equal(0.6, TextDiversity.DistinctN(texts, 1), 12);
        Assert.Equal(1.0, TextDiversity.DistinctN(texts, 2), 12);
        // "a b a b": bigrams ab, ba, ab.
        Assert.Equal(2.0 / 3, TextDiversity.DistinctN([["a", "b", "a", "b"]], 2), 12);
        Assert.Equal(0, TextDiversity.DistinctN([["a"]], 2));
    }

    [Fact]
    public void Self_similarity_is_the_mean_pairwise_jaccard_of_n_gram_sets()
    {
        IReadOnlyList<string>[] texts = [["a", "b"], ["b", "c"], ["a", "b"]];
        // {a,b}-{b,c}: 1/3; {a,b}-{a,b}: 1; {b,c}-{a,b}: 1/3; mean 5/9.
        Assert.Equal(5.0 / 9, TextDiversity.SelfSimilarity(texts, n: 1), 12);
        Assert.Equal(0, TextDiversity.SelfSimilarity([["a", "b"]], n: 1));
        // Texts shorter than n compare as one gram each: identical short texts are fully similar.
        Assert.Equal(1.0, TextDiversity.SelfSimilarity([["ok"], ["ok"]], n: 3), 12);
    }

    [Fact]
    public void Length_percentiles_are_nearest_rank()
    {
        var summary = LengthSummary.Of([5, 1, 3, 2, 4]);
        // ranks ceil(0.1*5)=1, ceil(0.5*5)=3, ceil(0.9*5)=5.
        Assert.Equal(new LengthSummary(5, 3.0, 1, 1, 3, 5, 5), summary);
        Assert.Equal(LengthSummary.Empty, LengthSummary.Of([]));
        Assert.Equal(2, LengthSummary.Percentile([1, 2, 3, 4], 0.5));
    }

    [Fact]
    public void Word_hashes_taken_from_the_text_are_the_hashes_of_its_words()
    {
        const string text = "Hello, WORLD! a10042 -- ok. Ünïcödé ÉTÉ 42x";
        var hashes = new List<ulong>();
        TextDiversity.AppendWordHashes(text, hashes);

        Assert.Equal(TextDiversity.Words(text).Select(w => TextDiversity.WordHash(w)), hashes);
        Assert.Equal(TextDiversity.WordHash("hello"), TextDiversity.WordHash("HeLLo"));
        Assert.NotEqual(TextDiversity.NGramHash(hashes, 0, 2), TextDiversity.NGramHash([hashes[1], hashes[0]], 0, 2)); // order counts
    }

    [Fact]
    public void Distinct_n_counted_a_text_at_a_time_equals_distinct_n_over_all_texts()
    {
        string[] texts = ["the order shipped today", "the order shipped yesterday", "a refund was issued"];
        var counter = new DistinctNGrams(2);
        foreach (var text in texts)
        {
            var hashes = new List<ulong>();
            TextDiversity.AppendWordHashes(text, hashes);
            counter.Add(hashes);
        }

        Assert.Equal(7.0 / 9, counter.Value, 12); // 9 bigrams, of which "the order" and "order shipped" come twice
        Assert.Equal(counter.Value, TextDiversity.DistinctN(texts.Select(TextDiversity.Words).ToList(), 2), 12);
    }
}
