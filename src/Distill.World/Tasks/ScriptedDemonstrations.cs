using System.Text.Json;
using Distill.Core.Samples;
using Distill.World.Store;
using Distill.World.Tools;
using static Distill.World.Tasks.WorldTiers;

namespace Distill.World.Tasks;

/// <summary>
/// Step-by-step demonstrations of the correct trajectory for a task: a short reasoning line and a real tool call per step, the
/// tool's real result, and a final answer stating the ground-truth facts. They bootstrap the embedded local teacher (the README
/// says so). Short and regular on purpose: a model of a few million parameters has to learn them on two CPU cores.
/// </summary>
public sealed class ScriptedDemonstrations(StoreWorld world)
{
    /// <summary>The world-agent template's system text with today's date filled in (the tokenizer corpus renders it).</summary>
    public static readonly string SystemPrompt =
        $"You are the customer-service agent of an online store. Today is {StoreTools.Date(StoreWorld.Today)}. " +
        "Use the tools to look things up; never guess order details. Answer briefly.";

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
        var (reasoning, answer) = FinalAnswer(task, results[^1]);
        messages.Add(ChatMessage.Assistant(answer, reasoning: reasoning));
        return messages;
    }

    private static Dictionary<string, string> ArgumentsFor(WorldTask task, Generation.Recipes.ExpectedToolCall expected, List<JsonElement> results) =>
        expected.Name switch
        {
            "search_kb" => new() { ["query"] = task.Question.TrimEnd('?', '.', '!') },
            "track_shipment" => new() { ["tracking_number"] = results[^1].GetProperty("tracking_number").GetString()! },
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

    private static string StepReasoning(WorldTask task, int step, Dictionary<string, string> arguments) => (task.Tier, step) switch
    {
        (Arithmetic, _) => $"I use the calculator for {arguments["expression"]}.",
        (Status, _) => $"I look up order {arguments["order_id"]}.",
        (Eta, 0) => $"I look up order {arguments["order_id"]} for its tracking number.",
        (Eta, _) => $"The tracking number is {arguments["tracking_number"]}, so I track it.",
        (Refund, _) => $"Refunds follow the policy, so I check order {arguments["order_id"]} for reason {arguments["reason"]}.",
        _ => "This is a policy question, so I search the help centre.",
    };

    private static (string Reasoning, string Answer) FinalAnswer(WorldTask task, JsonElement last)
    {
        string Text(string name) => last.GetProperty(name).GetString()!;
        switch (task.Tier)
        {
            case Arithmetic:
                var expression = task.ExpectedCalls[0].Arguments["expression"];
                var result = last.GetProperty("result").GetRawText();
                return ($"The calculator says {result}.", $"{expression} = {result}.");
            case Status:
                var order = Text("order_id");
                var status = Text("status");
                var detail = status switch
                {
                    Store.OrderStatus.Delivered => $" It was delivered on {Text("delivered")}.",
                    Store.OrderStatus.Shipped => $" Its tracking number is {Text("tracking_number")}.",
                    Store.OrderStatus.Processing => " It will ship soon.",
                    _ => "",
                };
                return ($"The lookup says order {order} is {status}.", $"Order {order} is {status}.{detail}");
            case Eta:
                var eta = Text("estimated_delivery");
                var carrier = Text("carrier");
                return ($"{carrier} estimates {eta}.", $"Your order should arrive on {eta} with {carrier}.");
            case Refund:
                var id = Text("order_id");
                var why = Text("reason");
                return last.GetProperty("eligible").GetBoolean()
                    ? ($"Eligible: {why}.", $"Order {id} is eligible for a refund of ${Text("refund_amount")}.")
                    : ($"Not eligible: {why}.", $"Order {id} is not eligible for a refund: {why}.");
            default:
                return ($"The article \"{Text("title")}\" answers it.", Text("text"));
        }
    }
}
