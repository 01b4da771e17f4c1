using Distill.Core.Errors;
using Distill.Evaluation.Statistics;

namespace Distill.Evaluation;

/// <summary>
/// Two models on the same tasks (paired by task position and id): the exact McNemar test of whether the candidate's success
/// differs from the baseline's. Tasks only one of them was scored on are left out.
/// </summary>
public sealed record PairedComparison(string Baseline, string Candidate, McNemarResult Test)
{
    /// <summary>The significance level the report's verdict uses.</summary>
    public const double Alpha = 0.05;

    public bool Significant => Test.P < Alpha;

    public static PairedComparison Of(ModelEvaluation baseline, ModelEvaluation candidate)
    {
        var candidateOutcomes = candidate.Outcomes.ToDictionary(o => (o.Index, o.TaskId), o => o.Succeeded);
        var paired = baseline.Outcomes.Where(o => candidateOutcomes.ContainsKey((o.Index, o.TaskId)))
            .Select(o => (Baseline: o.Succeeded, Candidate: candidateOutcomes[(o.Index, o.TaskId)])).ToList();
        return new PairedComparison(baseline.Model, candidate.Model,
            McNemar.Test(paired.Select(p => p.Baseline).ToList(), paired.Select(p => p.Candidate).ToList()));
    }

    /// <summary>The comparisons the caller named, by model name.</summary>
    public static IReadOnlyList<PairedComparison> Of(IReadOnlyList<ModelEvaluation> results, IReadOnlyList<(string Baseline, string Candidate)> pairs)
    {
        ModelEvaluation Find(string name) => results.FirstOrDefault(r => r.Model == name)
            ?? throw new DistillException($"the comparison names model '{name}', which was not evaluated",
                $"name one of: {string.Join(", ", results.Select(r => r.Model))}");
        return pairs.Select(p => Of(Find(p.Baseline), Find(p.Candidate))).ToList();
    }
}
