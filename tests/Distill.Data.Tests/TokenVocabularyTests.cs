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
    public void Float16_precision_rounds_to_the_nearest_half_and_float32_to_the_nearest_float()
    {
        // 1.2 in binary16 is 1.0011001101b = 1.2001953125; 0.1 is 0.0999755859375; -inf stays -inf.
        Assert.Equal(-1.2001953125f, CompactShardWriter.Store(-1.2, LogprobPrecision.Float16));
        Assert.Equal(-0.0999755859375f, CompactShardWriter.Store(-0.1, LogprobPrecision.Float16));
        Assert.Equal(float.NegativeInfinity, CompactShardWriter.Store(double.NegativeInfinity, LogprobPrecision.Float16));
        Assert.Equal(-1.2f, CompactShardWriter.Store(-1.2, LogprobPrecision.Float32));
    }
}
