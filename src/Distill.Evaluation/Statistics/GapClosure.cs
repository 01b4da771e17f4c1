namespace Distill.Evaluation.Statistics;

/// <summary>
/// How much of the baseline-to-teacher gap a student closes: (student - baseline) / (teacher - baseline). 1 = the student is as
/// good as the teacher, 0 = no better than the baseline, negative = worse, above 1 = better than the teacher.
/// </summary>
public static class GapClosure
{
    /// <summary>Below this the teacher and the baseline are the same rate and there is no gap to close.</summary>
    public const double MinGap = 1e-9;

    /// <returns>The share of the gap closed, or null when the teacher is no better than the baseline (no gap: the ratio would be
    /// meaningless or have the wrong sign), so a report prints "no gap" instead of a number.</returns>
    public static double? Of(double baseline, double student, double teacher) =>
        teacher - baseline <= MinGap ? null : (student - baseline) / (teacher - baseline);
}
