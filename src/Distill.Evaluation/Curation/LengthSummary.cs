namespace Distill.Evaluation.Curation;

/// <summary>A length distribution: count, mean and nearest-rank percentiles (p = ceil(q N)-th smallest value).</summary>
public sealed record LengthSummary(int Count, double Mean, int Min, int P10, int P50, int P90, int Max)
{
    public static readonly LengthSummary Empty = new(0, 0, 0, 0, 0, 0, 0);

    public static LengthSummary Of(IEnumerable<int> lengths)
    {
        var sorted = lengths.Order().ToArray();
        if (sorted.Length == 0) return Empty;
        return new LengthSummary(sorted.Length, sorted.Average(), sorted[0], Percentile(sorted, 0.1), Percentile(sorted, 0.5), Percentile(sorted, 0.9), sorted[^1]);
    }

    /// <summary>The nearest-rank percentile of an ascending array: the ceil(q N)-th value (at least the first).</summary>
    public static int Percentile(IReadOnlyList<int> ascending, double q)
    {
        ArgumentOutOfRangeException.ThrowIfZero(ascending.Count);
        var rank = (int)Math.Ceiling(q * ascending.Count);
        return ascending[Math.Clamp(rank, 1, ascending.Count) - 1];
    }
}
