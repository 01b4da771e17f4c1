namespace Distill.Evaluation;

/// <summary>
/// One held-out task's result for one model: the greedy attempt (what <see cref="ModelEvaluation.SuccessRate"/> counts) and,
/// when the evaluation sampled, how many sampled attempts were made and how many succeeded.
/// </summary>
/// <param name="Index">The task's position in the evaluated task list: with <see cref="TaskId"/>, what pairs two models' outcomes.</param>
/// <param name="Tags">The task's <c>SeedTask.Tags</c> (tier, phrasing, kind): what the breakdowns group by.</param>
/// <param name="Reject">Why the agent loop gave up on the greedy attempt, or null when it answered.</param>
public sealed record TaskOutcome(
    int Index,
    string TaskId,
    IReadOnlyDictionary<string, string> Tags,
    bool Succeeded,
    double Score,
    string? Reject,
    int SampledAttempts = 0,
    int SampledSuccesses = 0);
