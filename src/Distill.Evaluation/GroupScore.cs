using Distill.Evaluation.Statistics;

namespace Distill.Evaluation;

/// <summary>Success on the tasks that share one tag value (tier = T1, phrasing = unseen, kind = refund), with its Wilson 95 % interval.</summary>
public sealed record GroupScore(string Tag, string Value, int Tasks, int Succeeded)
{
    public double SuccessRate => Tasks == 0 ? 0 : (double)Succeeded / Tasks;
    public Interval SuccessInterval => Wilson.Interval(Succeeded, Tasks);
}
