namespace Distill.Data.Storage;

/// <summary>
/// How schema version 4 stores one token's top alternatives' logprobs (<see cref="CompactSchema.TopLogprobGaps"/>): teachers
/// report them sorted from most to least likely, so each one after the first is stored as its distance below the one before
/// (a small non-negative number that zstd squeezes to about half of the value itself), and only the first as its value.
/// <para>Rule, for alternative k with stored value v: k = 0, a NaN or a v whose sign bit is set (negative, -0, -infinity) is the
/// logprob itself; any other v is a gap, and the logprob is the previous one minus v, rounded to the file's precision. The
/// writer stores a gap only when that reads back bit for bit (the previous logprob finite and not below this one), and the gap
/// at the file's precision where that round-trips (fewer significant bits compress better); otherwise the logprob itself. So
/// reading gives exactly the values the precision keeps. The one loss: a positive logprob (which only rounding error produces)
/// that cannot be a gap has no sign-bit-set form and is stored as -0, read as 0.</para>
/// </summary>
public static class LogprobGaps
{
    /// <summary>The value a logprob is kept as at <paramref name="precision"/>: rounded to float16 precision, or to float32.</summary>
    public static float Round(double logprob, LogprobPrecision precision) =>
        precision == LogprobPrecision.Float16 ? Float16Rounding.Round(logprob) : (float)logprob;

    /// <summary>
    /// Fills <paramref name="stored"/> with the column values for one token's alternatives <paramref name="logprobs"/>, which
    /// must already be rounded to <paramref name="precision"/> (<see cref="Round"/>).
    /// </summary>
    public static void Encode(ReadOnlySpan<float> logprobs, Span<float> stored, LogprobPrecision precision)
    {
        for (int k = 0; k < logprobs.Length; k++)
        {
            float value = logprobs[k];
            if (k > 0 && TryGap(logprobs[k - 1], value, precision, out float gap)) stored[k] = gap;
            else stored[k] = k == 0 || float.IsNaN(value) || float.IsNegative(value) ? value : -0f;
        }
    }

    /// <summary>Fills <paramref name="logprobs"/> with one token's alternatives from their stored column values.</summary>
    public static void Decode(ReadOnlySpan<float> stored, Span<float> logprobs, LogprobPrecision precision)
    {
        for (int k = 0; k < stored.Length; k++)
        {
            float v = stored[k];
            logprobs[k] = k == 0 || float.IsNaN(v) || float.IsNegative(v) ? v : Round(logprobs[k - 1] - v, precision);
        }
    }

    private static bool TryGap(float previous, float value, LogprobPrecision precision, out float gap)
    {
        gap = 0;
        if (!float.IsFinite(previous) || !float.IsFinite(value) || value > previous) return false;
        // The gap rounded to the precision first: a float16 gap has few significant bits; the exact float32 difference carries
        // the previous value's low bits, which are noise to the compressor.
        foreach (float candidate in (ReadOnlySpan<float>)[Round(previous - value, precision), previous - value])
        {
            if (float.IsNegative(candidate) || float.IsNaN(candidate)) continue;
            if (BitConverter.SingleToInt32Bits(Round(previous - candidate, precision)) == BitConverter.SingleToInt32Bits(value))
            {
                gap = candidate;
                return true;
            }
        }
        return false;
    }
}
