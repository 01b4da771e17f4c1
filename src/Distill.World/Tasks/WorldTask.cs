namespace Distill.World.Tasks;

/// <summary>A tool call the task's correct trajectory makes.</summary>
public sealed record ExpectedToolCall(string Name, IReadOnlyDictionary<string, string> Arguments);

/// <summary>
/// A customer request with ground truth: the tool calls a correct agent makes (in order) and the facts its final
/// answer must state. <see cref="Split"/> is "train" or "heldout"; held-out tasks are never used to generate data.
/// </summary>
public sealed record WorldTask(
    string Id,
    string Kind,
    string Question,
    IReadOnlyList<ExpectedToolCall> ExpectedCalls,
    IReadOnlyList<string> ExpectedAnswerFacts,
    string Split);

public static class WorldTaskKinds
{
    public const string OrderStatus = "order_status";
    public const string ShipmentEta = "shipment_eta";
    public const string Refund = "refund";
    public const string OrderTotal = "order_total";
    public const string Policy = "policy";

    public static readonly IReadOnlyList<string> All = [OrderStatus, ShipmentEta, Refund, OrderTotal, Policy];
}
