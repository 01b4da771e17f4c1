namespace Distill.Evaluation.Statistics;

/// <summary>
/// The unbiased pass@k estimator of Chen et al. 2021 ("Evaluating Large Language Models Trained on Code"): from n sampled
/// attempts of one task of which c succeeded, the chance that at least one of k attempts drawn without replacement succeeds,
/// 1 - C(n - c, k) / C(n, k). The mean over tasks is the benchmark's pass@k.
/// </summary>
public static class PassAtK
{
    public static double Estimate(int n, int c, int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(c);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(c, n);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(k, n);
        if (n - c < k) return 1;
        // C(n-c, k) / C(n, k) = prod_{i = n-c+1}^{n} (1 - k / i): a product of numbers in [0, 1], stable for any n.
        var fail = 1.0;
        for (var i = n - c + 1; i <= n; i++) fail *= 1 - (double)k / i;
        return 1 - fail;
    }

    /// <summary>Mean pass@k over tasks, each given as (attempts, successes).</summary>
    public static double Mean(IReadOnlyList<(int Attempts, int Successes)> tasks, int k) =>
        tasks.Count == 0 ? 0 : tasks.Average(t => Estimate(t.Attempts, t.Successes, k));
}
