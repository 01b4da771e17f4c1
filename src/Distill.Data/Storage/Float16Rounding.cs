namespace Distill.Data.Storage;

/// <summary>
/// Rounds a double to the nearest float16 value, returned as a float: the same result, bit for bit, as
/// <c>(float)(Half)value</c>, which .NET computes in software at several nanoseconds a value. The writer rounds every logprob
/// and every gap candidate (~3 per alternative, ~13,000 per tool-trace row), so this sits on its hottest path.
/// </summary>
public static class Float16Rounding
{
    // float16's normal range as double bit patterns: 2^-14 (its smallest normal) up to 65520, the halfway point above its largest
    // value 65504 from which a value rounds to infinity. Inside it rounding is plain significand rounding; outside it (subnormals,
    // overflow, infinities, NaN) the library conversion handles the rare value.
    private const ulong SmallestNormal = 0x3F10_0000_0000_0000;  // 2^-14
    private const ulong OverflowFrom = 0x40EF_FE00_0000_0000;    // 65520

    // A double has 52 significand bits, float16 keeps 10: the low 42 go.
    private const int DroppedBits = 42;
    private const ulong DroppedMask = (1UL << DroppedBits) - 1;
    private const ulong HalfUlpMinusOne = (1UL << (DroppedBits - 1)) - 1;

    /// <summary>The float16 value nearest <paramref name="value"/> (ties to even), as a float.</summary>
    public static float Round(double value)
    {
        ulong bits = BitConverter.DoubleToUInt64Bits(value);
        ulong magnitude = bits & 0x7FFF_FFFF_FFFF_FFFF;
        if (magnitude - SmallestNormal >= OverflowFrom - SmallestNormal) return (float)(Half)value;
        // Round half to even on the dropped bits: add just under half an ulp, plus one when the kept lowest bit is odd; a carry
        // out of the significand moves into the exponent, which is the correct next power of two.
        ulong rounded = (bits + HalfUlpMinusOne + ((bits >> DroppedBits) & 1)) & ~DroppedMask;
        return (float)BitConverter.UInt64BitsToDouble(rounded);
    }
}
