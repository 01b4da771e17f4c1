using System.Globalization;
using System.Text.Json;
using Distill.Core.Samples;
using Distill.World.Store;
using Distill.World.Tools;

namespace Distill.World.Tasks;

/// <summary>
/// Step-by-step demonstrations of the correct trajectory for a task: reasoning, real tool calls with their real results,
/// and a final answer stating the ground-truth facts. They bootstrap the embedded local teacher (the README says so).
/// </summary>
public sealed class ScriptedDemonstrations(StoreWorld world)
{
    public const string SystemPrompt =
        "You are the customer-service agent of an online store. Use the tools to look things up; never guess order " +
        "details. Think step by step, then answer briefly and politely.";

    private readonly StoreTools _tools = new(world);

    public IReadOnlyList<ChatMessage> For(WorldTask task)
    {
        var messages = new List<ChatMessage> { ChatMessage.System(SystemPrompt), ChatMessage.User(task.Question) };
        var results = new List<JsonElement>();
        for (var i = 0; i < task.ExpectedCalls.Count; i++)
        {
            var expected = task.ExpectedCalls[i];
            var arguments = ArgumentsFor(task, expected, results);
            var call = new ToolCall($"call_{i + 1}", expected.Name, JsonSerializer.Serialize(arguments));
            messages.Add(ChatMessage.Assistant(null, [call], StepReasoning(task, i, arguments)));
            var result = Execute(expected.Name, arguments);
            results.Add(JsonDocument.Parse(result).RootElement.Clone());
            messages.Add(ChatMessage.Tool(call.Id, call.Name, result));
        }
        var (reasoning, answer) = FinalAnswer(task, results);
        messages.Add(ChatMessage.Assistant(answer, reasoning: reasoning));
        return messages;
    }

    private static Dictionary<string, string> ArgumentsFor(WorldTask task, ExpectedToolCall expected, List<JsonElement> results) =>
        expected.Name switch
        {
            "search_kb" => new() { ["query"] = task.Question.TrimEnd('?', '.') },
            "track_shipment" when results.Count > 0 => new() { ["tracking_number"] = results[^1].GetProperty("tracking_number").GetString()! },
            _ => new(expected.Arguments),
        };

    private string Execute(string name, Dictionary<string, string> arguments) => name switch
    {
        "lookup_order" => _tools.LookupOrder(arguments["order_id"]),
        "track_shipment" => _tools.TrackShipment(arguments["tracking_number"]),
        "check_refund_eligibility" => _tools.CheckRefundEligibility(arguments["order_id"], arguments["reason"]),
        "calculator" => _tools.Calculate(arguments["expression"]),
        "search_kb" => _tools.SearchKnowledgeBase(arguments["query"]),
        _ => throw new InvalidOperationException($"no tool named {name}"),
    };

    private static string StepReasoning(WorldTask task, int step, Dictionary<string, string> arguments) => (task.Kind, step) switch
    {
        (WorldTaskKinds.ShipmentEta, 1) => $"The order has tracking number {arguments["tracking_number"]}, so I track the shipment for the delivery date.",
        (WorldTaskKinds.ShipmentEta, _) => $"To find the delivery date I first need the order's tracking number, so I look up order {arguments["order_id"]}.",
        (WorldTaskKinds.OrderStatus, _) => $"The customer asks about order {arguments["order_id"]}; I look it up instead of guessing.",
        (WorldTaskKinds.Refund, _) => $"Refunds depend on the policy and the delivery date, so I check eligibility of order {arguments["order_id"]} for reason {arguments["reason"]}.",
        (WorldTaskKinds.OrderTotal, _) => $"The total is quantity times unit price times the discounted share: {arguments["expression"]}.",
        _ => "This is a policy question, so I search the knowledge base.",
    };

    private static (string Reasoning, string Answer) FinalAnswer(WorldTask task, List<JsonElement> results)
    {
        var last = results.Count > 0 ? results[^1] : default;
        switch (task.Kind)
        {
            case WorldTaskKinds.OrderStatus:
                var status = last.GetProperty("status").GetString();
                var order = last.GetProperty("order_id").GetString();
                var detail = status switch
                {
                    OrderStatus.Delivered => $" It was delivered on {last.GetProperty("delivered").GetString()}.",
                    OrderStatus.Shipped => $" Its tracking number is {last.GetProperty("tracking_number").GetString()}.",
                    OrderStatus.Processing => " It will ship soon.",
                    _ => "",
                };
                return ($"The lookup says order {order} is {status}.", $"Your order {order} is {status}.{detail}");
            case WorldTaskKinds.ShipmentEta:
                var eta = last.GetProperty("estimated_delivery").GetString();
                var carrier = last.GetProperty("carrier").GetString();
                return ($"The carrier {carrier} estimates delivery on {eta}.", $"Your order is on its way with {carrier} and should arrive on {eta}.");
            case WorldTaskKinds.Refund:
                var eligible = last.GetProperty("eligible").GetBoolean();
                var why = last.GetProperty("reason").GetString();
                return eligible
                    ? ($"The order is eligible: {why}.", $"Good news: your order is eligible for a refund of {WorldTaskGenerator.Money(last.GetProperty("refund_amount").GetDecimal())}. It will reach your original payment method within 5 business days of us receiving the item.")
                    : ($"The order is not eligible: {why}.", $"I'm sorry, this order is not eligible for a refund: {why}.");
            case WorldTaskKinds.OrderTotal:
                var total = last.GetProperty("result").GetDecimal();
                return ($"The calculator gives {total.ToString("0.00", CultureInfo.InvariantCulture)}.", $"With the discount, the total comes to {WorldTaskGenerator.Money(total)}.");
            default:
                var article = last.GetProperty("results")[0];
                return ($"The best matching article is \"{article.GetProperty("title").GetString()}\".", article.GetProperty("text").GetString()!);
        }
    }
}
