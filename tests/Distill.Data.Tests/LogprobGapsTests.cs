using Distill.Data.Storage;

namespace Distill.Data.Tests;

/// <summary>Schema version 4's gap coding of a token's alternatives: small non-negative gaps, read back bit for bit.</summary>
public class LogprobGapsTests
{
    private static float[] Encode(LogprobPrecision precision, params float[] logprobs)
    {
        var stored = new float[logprobs.Length];
        LogprobGaps.Encode(logprobs, stored, precision);
        return stored;
    }

    private static float[] Decode(LogprobPrecision precision, float[] stored)
    {
        var logprobs = new float[stored.Length];
        LogprobGaps.Decode(stored, logprobs, precision);
        return logprobs;
    }

    private static int[] Bits(float[] values) => values.Select(BitConverter.SingleToInt32Bits).ToArray();

    // A +0 out of order (after a negative logprob) cannot be a gap and reads back as -0: equal, but not bit for bit.
    private static int[] BitsUpToZeroSign(float[] values) => values.Select(v => v == 0 ? 0 : BitConverter.SingleToInt32Bits(v)).ToArray();

    [Fact]
    public void Sorted_alternatives_are_stored_as_the_first_logprob_then_the_gaps_below_it()
    {
        // -0.5, -1.25 and -3 are exact in float16: the gaps are 0.75 and 1.75; an equal neighbour is a gap of +0.
        var stored = Encode(LogprobPrecision.Float16, -0.5f, -1.25f, -3f, -3f);
        Assert.Equal(new[] { -0.5f, 0.75f, 1.75f, 0f }, stored);
        Assert.False(float.IsNegative(stored[3]));
        Assert.Equal(new[] { -0.5f, -1.25f, -3f, -3f }, Decode(LogprobPrecision.Float16, stored));
    }

    [Fact]
    public void Out_of_order_and_non_finite_logprobs_are_stored_as_themselves()
    {
        // -1 after -2 is out of order; -infinity and NaN are never gaps, and nothing after them is either.
        var values = new[] { -2f, -1f, float.NegativeInfinity, -3f, float.NaN, -4f };
        var stored = Encode(LogprobPrecision.Float32, values);
        Assert.Equal(Bits(values), Bits(stored));
        Assert.Equal(Bits(values), Bits(Decode(LogprobPrecision.Float32, stored)));
    }

    [Fact]
    public void A_positive_logprob_that_cannot_be_a_gap_reads_back_as_zero()
    {
        // Below a positive one it is a gap (0.5 - 0.25); above a negative one it has no sign-bit-set form.
        Assert.Equal(new[] { 0.5f, 0.25f }, Decode(LogprobPrecision.Float32, Encode(LogprobPrecision.Float32, 0.5f, 0.25f)));
        var stored = Encode(LogprobPrecision.Float32, -1f, 0.5f);
        Assert.Equal(-1f, stored[0]);
        Assert.True(float.IsNegative(stored[1]) && stored[1] == 0);
        Assert.Equal(0f, Decode(LogprobPrecision.Float32, stored)[1]);
    }

    [Fact]
    public void Float16_gaps_are_rounded_to_float16_when_that_reads_back_exactly()
    {
        // -0.3 and -5.7 in float16 are -0.300048828125 and -5.69921875: their float32 difference is 5.399169921875, the float16
        // gap 5.3984375 (fewer significant bits), and -0.300048828125 - 5.3984375 rounds to the same float16 -5.69921875.
        float a = (float)(Half)(-0.3), b = (float)(Half)(-5.7);
        var stored = Encode(LogprobPrecision.Float16, a, b);
        Assert.Equal(5.3984375f, stored[1]);
        Assert.Equal(new[] { a, b }, Decode(LogprobPrecision.Float16, stored));
    }

    [Theory]
    [InlineData(LogprobPrecision.Float16)]
    [InlineData(LogprobPrecision.Float32)]
    public void Every_list_of_non_positive_logprobs_reads_back_bit_for_bit_but_the_sign_of_zero(LogprobPrecision precision)
    {
        var rng = new Random(7);
        float[] specials = [0f, -0f, float.NegativeInfinity, float.NaN, -1e-7f, -70000f, -65504f];
        for (int trial = 0; trial < 20_000; trial++)
        {
            var values = new float[rng.Next(1, 25)];
            double lp = -rng.NextDouble() * (trial % 3 == 0 ? 0.01 : 3);
            for (int k = 0; k < values.Length; k++)
            {
                values[k] = rng.Next(40) == 0 ? specials[rng.Next(specials.Length)] : LogprobGaps.Round(lp, precision);
                // Mostly sorted, as teachers report them; sometimes not.
                lp = rng.Next(10) == 0 ? -rng.NextDouble() * 30 : lp - rng.NextDouble() * 2;
            }
            Assert.Equal(BitsUpToZeroSign(values), BitsUpToZeroSign(Decode(precision, Encode(precision, values))));
        }
    }
}
