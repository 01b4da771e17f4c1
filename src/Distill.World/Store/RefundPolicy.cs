namespace Distill.World.Store;

/// <summary>The store's refund rules, as code (for the tool and the ground truth) and as text (teacher-only context).</summary>
public static class RefundPolicy
{
    public const int StandardWindowDays = 30;
    public const int DamagedWindowDays = 60;

    public static readonly IReadOnlyList<string> Reasons = ["changed_mind", "damaged", "wrong_item", "late"];

    public const string Text = """
        Refund policy (internal):
        - Only delivered orders can be refunded; orders still processing can be cancelled instead, shipped orders must arrive first.
        - Standard window: 30 days after delivery, for any reason.
        - Damaged or wrong items: 60 days after delivery.
        - Final-sale items are never refundable unless damaged or wrong.
        - Cancelled orders have nothing to refund.
        """;

    public sealed record Decision(bool Eligible, string Reason, decimal RefundAmount);

    public static Decision Decide(Order order, IReadOnlyDictionary<string, Product> products, string reason, DateOnly today)
    {
        if (order.Status == OrderStatus.Cancelled)
        {
            return new(false, "the order was cancelled, so there is nothing to refund", 0);
        }
        if (order.Status != OrderStatus.Delivered || order.DeliveredOn is null)
        {
            return new(false, $"the order is {order.Status}; only delivered orders can be refunded", 0);
        }
        var defect = reason is "damaged" or "wrong_item";
        var window = defect ? DamagedWindowDays : StandardWindowDays;
        var age = today.DayNumber - order.DeliveredOn.Value.DayNumber;
        if (age > window)
        {
            return new(false, $"it was delivered {age} days ago, past the {window}-day window", 0);
        }
        var refundable = order.Lines.Where(l => defect || !products[l.Sku].FinalSale).ToList();
        if (refundable.Count == 0)
        {
            return new(false, "final-sale items are refundable only when damaged or wrong", 0);
        }
        var amount = refundable.Sum(l => l.UnitPrice * l.Quantity);
        return new(true, $"delivered {age} days ago, within the {window}-day window", amount);
    }
}
