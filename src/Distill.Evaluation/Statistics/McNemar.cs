namespace Distill.Evaluation.Statistics;

/// <summary>
/// Paired comparison of two models on the same tasks. Only discordant tasks carry information: <see cref="OnlyBaseline"/>
/// (b: the baseline solved it, the candidate did not) and <see cref="OnlyCandidate"/> (c). <see cref="P"/> is the exact
/// two-sided McNemar p-value: under "equally good" b ~ Binomial(b + c, 1/2), p = min(1, 2 P(X &lt;= min(b, c))).
/// </summary>
public sealed record McNemarResult(int Tasks, int OnlyBaseline, int OnlyCandidate, int Both, int Neither, double P)
{
    public int Discordant => OnlyBaseline + OnlyCandidate;
}

public static class McNemar
{
    /// <summary>The exact test on paired success vectors (task i of both lists is the same task).</summary>
    public static McNemarResult Test(IReadOnlyList<bool> baseline, IReadOnlyList<bool> candidate)
    {
        if (baseline.Count != candidate.Count)
            throw new ArgumentException($"paired vectors differ in length ({baseline.Count} and {candidate.Count})", nameof(candidate));
        int b = 0, c = 0, both = 0, neither = 0;
        for (var i = 0; i < baseline.Count; i++)
        {
            switch (baseline[i], candidate[i])
            {
                case (true, false): b++; break;
                case (false, true): c++; break;
                case (true, true): both++; break;
                default: neither++; break;
            }
        }
        return new McNemarResult(baseline.Count, b, c, both, neither, ExactP(b, c));
    }

    /// <summary>Two-sided exact p of <paramref name="b"/> vs <paramref name="c"/> discordant pairs; 1 when there are none.</summary>
    public static double ExactP(int b, int c)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(b);
        ArgumentOutOfRangeException.ThrowIfNegative(c);
        var n = b + c;
        if (n == 0) return 1;
        var k = Math.Min(b, c);
        // Sum C(n, i) / 2^n for i <= k in log space, so n in the thousands neither overflows nor underflows early.
        var tail = 0.0;
        for (var i = 0; i <= k; i++) tail += Math.Exp(LogChoose(n, i) - n * Math.Log(2));
        return Math.Min(1, 2 * tail);
    }

    internal static double LogChoose(int n, int k)
    {
        var sum = 0.0;
        for (var i = 1; i <= k; i++) sum += Math.Log(n - k + i) - Math.Log(i);
        return sum;
    }
}
