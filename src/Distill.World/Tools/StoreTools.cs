using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using Distill.World.Store;
using Microsoft.SemanticKernel;

namespace Distill.World.Tools;

/// <summary>
/// The customer-service agent's tools, as Semantic Kernel functions: their metadata gives the JSON schemas offered to
/// the teacher, and they really execute against the store. Results are JSON text; a lookup that finds nothing returns
/// {"error": ...} as a real API would, so the agent can recover.
/// </summary>
public sealed class StoreTools(StoreWorld world)
{
    public const string PluginName = "store";

    public static KernelPlugin CreatePlugin(StoreWorld world) => KernelPluginFactory.CreateFromObject(new StoreTools(world), PluginName);

    [KernelFunction("lookup_order"), Description("Look up an order by its id: status, items, total, tracking number.")]
    public string LookupOrder([Description("The order id, e.g. A10042")] string order_id)
    {
        if (!world.Orders.TryGetValue(order_id.Trim().ToUpperInvariant(), out var order))
        {
            return Error($"no order with id {order_id}");
        }
        return Json(new
        {
            order_id = order.Id,
            status = order.Status,
            placed = order.Placed.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            delivered = order.DeliveredOn?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            tracking_number = order.TrackingNumber,
            items = order.Lines.Select(l => new { sku = l.Sku, name = world.Products[l.Sku].Name, quantity = l.Quantity, unit_price = l.UnitPrice }),
            total = order.Total,
        });
    }

    [KernelFunction("track_shipment"), Description("Track a shipment by tracking number: carrier, estimated delivery date, events.")]
    public string TrackShipment([Description("The tracking number from the order, e.g. TRK12345678")] string tracking_number)
    {
        if (!world.Shipments.TryGetValue(tracking_number.Trim().ToUpperInvariant(), out var shipment))
        {
            return Error($"no shipment with tracking number {tracking_number}");
        }
        return Json(new
        {
            tracking_number = shipment.TrackingNumber,
            carrier = shipment.Carrier,
            estimated_delivery = shipment.EstimatedDelivery.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            events = shipment.Events.Select(e => new { date = e.Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), location = e.Location, description = e.Description }),
        });
    }

    [KernelFunction("check_refund_eligibility"), Description("Check whether an order can be refunded under the store policy, and for how much.")]
    public string CheckRefundEligibility(
        [Description("The order id, e.g. A10042")] string order_id,
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
        return Json(new { order_id = order.Id, eligible = decision.Eligible, reason = decision.Reason, refund_amount = decision.RefundAmount });
    }

    [KernelFunction("calculator"), Description("Evaluate an arithmetic expression with + - * / and parentheses, exactly.")]
    public string Calculate([Description("The expression, e.g. (3 * 24.99) * 0.9")] string expression)
    {
        try
        {
            return Json(new { expression, result = Math.Round(Calculator.Evaluate(expression), 2) });
        }
        catch (Exception e) when (e is FormatException or DivideByZeroException or OverflowException)
        {
            return Error($"cannot evaluate '{expression}': {e.Message}");
        }
    }

    [KernelFunction("search_kb"), Description("Search the help-centre knowledge base; returns the best matching articles.")]
    public string SearchKnowledgeBase([Description("What to search for, in a few words")] string query) =>
        Json(new { results = world.KnowledgeBase.Search(query).Select(a => new { id = a.Id, title = a.Title, text = a.Body }) });

    private static string Json(object value) => JsonSerializer.Serialize(value);

    private static string Error(string message) => Json(new { error = message });
}
