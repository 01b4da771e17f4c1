using Distill.Generation.Recipes;

namespace Distill.World.Tasks;

/// <summary>
/// A customer request with ground truth: the tool calls a correct agent makes (in order), the facts its final answer must state
/// and the facts it must not state. <see cref="Split"/> is train, dev or heldout; <see cref="Phrasing"/> says whether the
/// question's wording is one training uses ("seen") or one only evaluation uses ("unseen").
/// </summary>
public sealed record WorldTask(
    string Id,
    string Tier,
    string Question,
    IReadOnlyList<ExpectedToolCall> ExpectedCalls,
    IReadOnlyList<string> ExpectedAnswerFacts,
    IReadOnlyList<string> ForbiddenFacts,
    string Split,
    string Phrasing)
{
    public string Kind => WorldTiers.KindOf(Tier);

    public SeedTask ToSeedTask() => new(Id, Question, null, ExpectedCalls, ExpectedAnswerFacts,
        new Dictionary<string, string>(StringComparer.Ordinal) { ["tier"] = Tier, ["kind"] = Kind, ["phrasing"] = Phrasing },
        ForbiddenFacts);
}

/// <summary>The world's task tiers, from one tool call with nothing to copy to two dependent calls and policy reasoning.</summary>
public static class WorldTiers
{
    /// <summary>T0: arithmetic through the calculator ("What is 8*12?").</summary>
    public const string Arithmetic = "T0";

    /// <summary>T1: an order's status by its id (one lookup; the id must be copied into the call and the status out of the result).</summary>
    public const string Status = "T1";

    /// <summary>T2: a shipment's delivery date (order lookup, then tracking with the number the lookup returned).</summary>
    public const string Eta = "T2";

    /// <summary>T3: a refund decision under the policy, with the amount when eligible.</summary>
    public const string Refund = "T3";

    /// <summary>T4: a policy question answered from the knowledge base.</summary>
    public const string Policy = "T4";

    public static readonly IReadOnlyList<string> All = [Arithmetic, Status, Eta, Refund, Policy];

    public static string KindOf(string tier) => tier switch
    {
        Arithmetic => "calculator",
        Status => "order_status",
        Eta => "shipment_eta",
        Refund => "refund",
        Policy => "policy",
        _ => throw new ArgumentOutOfRangeException(nameof(tier), tier, "unknown world tier"),
    };
}
