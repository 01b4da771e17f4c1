using Distill.Data.Storage;

namespace Distill.Data.Tests;

public class TokenVocabularyTests
{
    [Fact]
    public void A_known_id_stores_its_text_once_and_a_different_text_for_it_is_kept_explicitly()
    {
        var v = new TokenVocabulary();
        Assert.Null(v.TextToStore(5, " the"));      // learnt
        Assert.Null(v.TextToStore(5, " the"));      // looked up
        Assert.Equal("x", v.TextToStore(5, "x"));   // another tokenizer's id 5: stored as is
        Assert.Equal("é", v.TextToStore(null, "é")); // foreign tokenizer: no id, text stored
        Assert.Equal(1, v.Count);

        var read = TokenVocabulary.FromJson(v.ToJson());
        Assert.Equal(" the", read.TextOf(5, null));
        Assert.Equal("x", read.TextOf(5, "x"));
        Assert.Equal("é", read.TextOf(null, "é"));
        Assert.Throws<InvalidDataException>(() => read.TextOf(6, null));
        Assert.Throws<InvalidDataException>(() => read.TextOf(null, null));
    }

    [Fact]
    public void Ids_of_any_size_and_sign_are_kept_and_read_back_in_the_order_first_seen()
    {
        // Small ids live in the by-id array, an id of 2^20 and more and a negative one in the dictionary only.
        var v = new TokenVocabulary();
        foreach (var (id, text) in new[] { (3, "a"), (1 << 20, "big"), (-2, "neg"), (70_000, "mid"), (int.MaxValue, "max") })
            Assert.Null(v.TextToStore(id, text));
        Assert.Null(v.TextToStore(1 << 20, "big"));
        Assert.Equal("other", v.TextToStore(-2, "other"));
        Assert.Equal(5, v.Count);
        Assert.Equal("""{"3":"a","1048576":"big","-2":"neg","70000":"mid","2147483647":"max"}""", v.ToJson());

        var read = TokenVocabulary.FromJson(v.ToJson());
        Assert.Equal("big", read.TextOf(1 << 20, null));
        Assert.Equal("neg", read.TextOf(-2, null));
        Assert.Equal("mid", read.TextOf(70_000, null));
        Assert.Equal("max", read.TextOf(int.MaxValue, null));
        Assert.Throws<InvalidDataException>(() => read.TextOf(4, null));
        Assert.Throws<InvalidDataException>(() => read.TextOf(1_000_000, null));
    }

    [Fact]
    public void Float16_precision_rounds_to_the_nearest_half_and_float32_to_the_nearest_float()
    {
        // 1.2 in binary16 is 1.0011001101b = 1.2001953125; 0.1 is 0.0999755859375; -inf stays -inf.
        Assert.Equal(-1.2001953125f, CompactShardWriter.Store(-1.2, LogprobPrecision.Float16));
        Assert.Equal(-0.0999755859375f, CompactShardWriter.Store(-0.1, LogprobPrecision.Float16));
        Assert.Equal(float.NegativeInfinity, CompactShardWriter.Store(double.NegativeInfinity, LogprobPrecision.Float16));
        Assert.Equal(-1.2f, CompactShardWriter.Store(-1.2, LogprobPrecision.Float32));
    }
}
