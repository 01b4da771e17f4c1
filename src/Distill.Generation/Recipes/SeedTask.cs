namespace Distill.Generation.Recipes;

/// <summary>
/// One seed input for a recipe, with ground truth when the source has it: the expected answer (CoT), the expected tool calls in
/// order and the facts the final answer must state (World tasks). <see cref="Tags"/> are labels evaluation reports break
/// down by (for the world: "tier" = T0..T4, "phrasing" = "seen" or "unseen"); they never reach the teacher.
/// <see cref="ForbiddenFacts"/> are facts the final answer must not state (see <see cref="FactMatcher.States"/>): for an order
/// that is shipped, the other statuses, so a hedge such as "shipped or delivered" fails.
/// </summary>
public sealed record SeedTask(
    string Id,
    string Input,
    string? ExpectedAnswer = null,
    IReadOnlyList<ExpectedToolCall>? ExpectedCalls = null,
    IReadOnlyList<string>? ExpectedFacts = null,
    IReadOnlyDictionary<string, string>? Tags = null,
    IReadOnlyList<string>? ForbiddenFacts = null)
{
    public bool HasGroundTruth => ExpectedAnswer is not null || ExpectedFacts is { Count: > 0 };
}
