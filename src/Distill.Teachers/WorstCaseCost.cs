using Distill.Core.Errors;

namespace Distill.Teachers;

/// <summary>
/// The most a request can cost: <see cref="TokenEstimator.PromptTokensUpperBound"/> prompt tokens at the uncached input
/// price plus <c>max_tokens</c> at the output price. Use the highest prices of a teacher and its fallbacks
/// (<see cref="Highest"/>), since either may answer.
/// </summary>
public sealed class WorstCaseCost(CostCalculator prices)
{
    public CostCalculator Prices => prices;

    /// <param name="request">Its <see cref="TeacherRequest.MaxTokens"/> bounds the completion; without one the worst case is unknown.</param>
    public double Of(TeacherRequest request)
    {
        if (request.MaxTokens is not { } maxTokens)
            throw new DistillException("A request has no max_tokens, so its worst-case cost is unbounded and a budget cannot be kept.",
                "set max_tokens in the template's front matter (parameters), or run without --budget-usd");
        return (PromptTokens(request) * prices.InputPer1M + (double)maxTokens * prices.OutputPer1M) / 1_000_000d;
    }

    private static double PromptTokens(TeacherRequest request) => TokenEstimator.PromptTokensUpperBound(request);

    /// <summary>Prices that are at least those of every teacher in <paramref name="chain"/>, item by item.</summary>
    public static WorstCaseCost Highest(IEnumerable<TeacherOptions> chain)
    {
        var prices = chain.Select(t => new CostCalculator(t)).ToList();
        if (prices.Count == 0) throw new ArgumentException("at least one teacher is needed", nameof(chain));
        var input = prices.Max(p => Math.Max(p.InputPer1M, p.CachedInputPer1M));
        return new WorstCaseCost(new CostCalculator(input, input, prices.Max(p => p.OutputPer1M)));
    }
}
