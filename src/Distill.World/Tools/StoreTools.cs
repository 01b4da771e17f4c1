using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using Distill.Generation.Tools;
using Distill.World.Store;
using Microsoft.SemanticKernel;

namespace Distill.World.Tools;

/// <summary>
/// The customer-service agent's tools, as Semantic Kernel functions: their metadata gives the tool schemas offered to the model,
/// and they really execute against the store. Results are compact JSON (only what an answer needs: a small model's context is
/// short); a lookup that finds nothing returns {"error": ...} as a real API would, so the agent can recover.
/// </summary>
public sealed class StoreTools(StoreWorld world)
{
    public const string PluginName = "store";

    public static KernelPlugin CreatePlugin(StoreWorld world) => KernelPluginFactory.CreateFromObject(new StoreTools(world), PluginName);

    [KernelFunction("lookup_order"), Description("Look up an order by its id.")]
    public string LookupOrder([Description("The order id, e.g. A12345")] string order_id)
    {
        if (!world.Orders.TryGetValue(order_id.Trim().ToUpperInvariant(), out var order))
        {
            return Error($"no order with id {order_id}");
        }
        var result = new Dictionary<string, string> { ["order_id"] = order.Id, ["status"] = order.Status };
        if (order.TrackingNumber is { } tracking) result["tracking_number"] = tracking;
        if (order.DeliveredOn is { } delivered) result["delivered"] = Date(delivered);
        return Json(result);
    }

    [KernelFunction("track_shipment"), Description("Track a shipment by its tracking number.")]
    public string TrackShipment([Description("The tracking number from the order, e.g. T12345")] string tracking_number)
    {
        if (!world.Shipments.TryGetValue(tracking_number.Trim().ToUpperInvariant(), out var shipment))
        {
            return Error($"no shipment with tracking number {tracking_number}");
        }
        return Json(new { tracking_number = shipment.TrackingNumber, carrier = shipment.Carrier, estimated_delivery = Date(shipment.EstimatedDelivery) });
    }

    [KernelFunction("check_refund_eligibility"), Description("Check if an order can be refunded (reason: changed_mind, damaged, wrong_item or late).")]
    public string CheckRefundEligibility(
        [Description("The order id, e.g. A12345")] string order_id,
        [Description("Why the customer wants a refund: changed_mind, damaged, wrong_item or late")] string reason)
    {
        if (!RefundPolicy.Reasons.Contains(reason))
        {
            return Error($"reason must be one of {string.Join(", ", RefundPolicy.Reasons)}");
        }
        if (!world.Orders.TryGetValue(order_id.Trim().ToUpperInvariant(), out var order))
        {
            return Error($"no order with id {order_id}");
        }
        var decision = RefundPolicy.Decide(order, world.Products, reason, StoreWorld.Today);
        return decision.Eligible
            ? Json(new { order_id = order.Id, eligible = true, reason = decision.Reason, refund_amount = Money(decision.RefundAmount) })
            : Json(new { order_id = order.Id, eligible = false, reason = decision.Reason });
    }

    [KernelFunction("calculator"), Description("Evaluate an arithmetic expression exactly.")]
    public string Calculate([Description("The expression, e.g. 8*12")] string expression)
    {
        try
        {
            return Json(new { result = decimal.Parse(Number(Math.Round(ArithmeticExpression.Evaluate(expression), 2)), CultureInfo.InvariantCulture) });
        }
        catch (Exception e) when (e is FormatException or DivideByZeroException or OverflowException)
        {
            return Error($"cannot evaluate '{expression}': {e.Message}");
        }
    }

    [KernelFunction("search_kb"), Description("Search the help-centre articles.")]
    public string SearchKnowledgeBase([Description("What to search for, in a few words")] string query) =>
        world.KnowledgeBase.Search(query, limit: 1) is [var best]
            ? Json(new { title = best.Title, text = best.Body })
            : Error($"no article matches '{query}'");

    /// <summary>Money as the tools and answers write it: two decimals, no currency sign (answers add the $).</summary>
    public static string Money(decimal amount) => amount.ToString("0.00", CultureInfo.InvariantCulture);

    /// <summary>A number without trailing zeros (96, 2.5), as a person writes it.</summary>
    public static string Number(decimal value) => value.ToString("0.##", CultureInfo.InvariantCulture);

    public static string Date(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string Json(object value) => JsonSerializer.Serialize(value);

    private static string Error(string message) => Json(new { error = message });
}
