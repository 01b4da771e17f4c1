namespace Distill.Evaluation.Statistics;

/// <summary>
/// The Wilson score interval of a success rate: unlike the normal approximation it stays inside [0, 1] and is honest for small
/// samples and rates near 0 or 1 (0 of 10 gives [0, 0.278], not [0, 0]).
/// </summary>
public static class Wilson
{
    /// <summary>z for a two-sided 95 % interval.</summary>
    public const double Z95 = 1.959963984540054;

    /// <returns>The interval of <paramref name="successes"/> / <paramref name="trials"/>; [0, 1] when there are no trials.</returns>
    public static Interval Interval(int successes, int trials, double z = Z95)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(trials);
        ArgumentOutOfRangeException.ThrowIfNegative(successes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(successes, trials);
        if (trials == 0) return new Interval(0, 1);
        double n = trials, p = successes / n, z2 = z * z;
        var center = (p + z2 / (2 * n)) / (1 + z2 / n);
        var half = z / (1 + z2 / n) * Math.Sqrt(p * (1 - p) / n + z2 / (4 * n * n));
        // At 0 or n successes one end is exactly 0 or 1; rounding must not put it just outside.
        return new Interval(successes == 0 ? 0 : Math.Max(0, center - half), successes == trials ? 1 : Math.Min(1, center + half));
    }
}
