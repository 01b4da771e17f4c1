using Distill.Data.Storage;

namespace Distill.Data.Tests;

/// <summary>The writer's float16 rounding: the library conversion's result, bit for bit, at a fraction of its cost.</summary>
public class Float16RoundingTests
{
    private static void SameAsHalf(double value)
    {
        float expected = (float)(Half)value, actual = Float16Rounding.Round(value);
        Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual),
            $"{value:R} (0x{BitConverter.DoubleToInt64Bits(value):X16}): Half gives {expected:R}, Round {actual:R}");
    }

    [Theory]
    [InlineData(-1.2, -1.2001953125)]           // 1.0011001101b
    [InlineData(-0.1, -0.0999755859375)]
    [InlineData(1 + 1.0 / 2048, 1.0)]           // halfway between 1 and 1 + 2^-10: ties to the even 1
    [InlineData(1 + 3.0 / 2048, 1.001953125)]   // halfway between 1 + 2^-10 and 1 + 2^-9: ties to the even 1 + 2^-9
    [InlineData(2047.9, 2048.0)]                // the significand carries into the exponent
    [InlineData(-65519.0, -65504.0)]            // below the overflow point: the largest float16
    [InlineData(65520.0, double.PositiveInfinity)]
    public void Rounds_to_the_nearest_float16_with_ties_to_even(double value, double expected) =>
        Assert.Equal((float)expected, Float16Rounding.Round(value));

    [Theory]
    [InlineData(0.0)]
    [InlineData(double.NegativeInfinity)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NaN)]
    [InlineData(6.103515625e-05)]               // 2^-14, the smallest normal float16
    [InlineData(6.1035156249e-05)]              // just below it: subnormal
    [InlineData(-3e-8)]                          // rounds to the smallest subnormal
    [InlineData(1e-9)]                           // rounds to zero
    [InlineData(65504.0)]
    [InlineData(65519.99999)]
    [InlineData(-1e300)]
    public void Edge_values_match_the_library_conversion(double value) => SameAsHalf(value);

    [Fact]
    public void Random_values_over_the_whole_range_match_the_library_conversion()
    {
        SameAsHalf(-0.0); // (not an InlineData: xunit takes it for a duplicate of 0.0)
        var rng = new Random(16);
        for (int i = 0; i < 1_000_000; i++)
        {
            // Every binade from far below float16's subnormals to far above its largest value, with random significand bits.
            double value = (rng.NextDouble() + 1) * Math.Pow(2, rng.Next(-30, 20)) * (rng.Next(2) == 0 ? -1 : 1);
            SameAsHalf(value);
        }
    }

    [Fact]
    public void Values_exactly_halfway_between_two_float16s_match_the_library_conversion()
    {
        var rng = new Random(17);
        for (int i = 0; i < 100_000; i++)
        {
            // A float16 significand plus half an ulp of it: exactly representable in a double, a tie for the rounding.
            int exponent = rng.Next(-14, 16);
            double ulp = Math.Pow(2, exponent - 10);
            double value = (Math.Pow(2, exponent) + rng.Next(1024) * ulp + ulp / 2) * (rng.Next(2) == 0 ? -1 : 1);
            SameAsHalf(value);
        }
    }
}
