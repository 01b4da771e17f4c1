using System.Globalization;
using Distill.World.Store;

namespace Distill.World.Tasks;

/// <summary>
/// Generates customer requests with ground truth, deterministically: task i of a split is always the same task.
/// Orders are partitioned so held-out tasks ask about orders that training tasks never mention.
/// </summary>
public sealed class WorldTaskGenerator(StoreWorld world)
{
    public const string Train = "train";
    public const string HeldOut = "heldout";

    private static readonly string[] StatusQuestions =
    [
        "Hi, what's the status of order {0}?", "Can you check on my order {0}?", "Where is my order {0} right now?",
        "Has order {0} shipped yet?", "I placed order {0} a while ago. What is happening with it?",
    ];
    private static readonly string[] EtaQuestions =
    [
        "When will order {0} arrive?", "What's the expected delivery date for my order {0}?", "How soon will I get order {0}?",
    ];
    private static readonly (string Reason, string Phrase)[] RefundReasons =
    [
        ("changed_mind", "I changed my mind"), ("damaged", "it arrived damaged"), ("wrong_item", "it is not what I ordered"), ("late", "it came too late"),
    ];
    private static readonly (string Question, string Fact)[] PolicyQuestions =
    [
        ("How long does a refund take to reach my card?", "5 business days"),
        ("How long does standard shipping take?", "3 to 5 business days"),
        ("Can I change the delivery address of my order?", "while the order is processing"),
        ("How do I cancel an order?", "Orders > Cancel"),
        ("What warranty do electronics have?", "1-year"),
        ("Which payment methods do you accept?", "gift cards"),
        ("My item arrived damaged. What should I do?", "60 days"),
        ("Do you match competitor prices?", "competitor prices are not matched"),
    ];

    public IEnumerable<WorldTask> Generate(string split, int count)
    {
        if (split is not (Train or HeldOut))
        {
            throw new ArgumentException($"split must be '{Train}' or '{HeldOut}'", nameof(split));
        }
        var orders = world.Orders.Values
            .Where(o => (int.Parse(o.Id[1..], CultureInfo.InvariantCulture) % 5 == 0) == (split == HeldOut))
            .OrderBy(o => o.Id, StringComparer.Ordinal)
            .ToList();
        var shipped = orders.Where(o => o.Status == OrderStatus.Shipped).ToList();
        var products = world.Products.Values.OrderBy(p => p.Sku, StringComparer.Ordinal).ToList();
        // Held-out tasks draw from a different stream so their phrasing/order pairings differ from training's too.
        var random = new Random(split == Train ? 1234 : 98765);
        for (var i = 0; i < count; i++)
        {
            var kind = WorldTaskKinds.All[i % WorldTaskKinds.All.Count];
            var id = $"world-{split}-{i:D5}";
            yield return kind switch
            {
                WorldTaskKinds.OrderStatus => StatusTask(id, orders[random.Next(orders.Count)], random),
                WorldTaskKinds.ShipmentEta when shipped.Count > 0 => EtaTask(id, shipped[random.Next(shipped.Count)], random),
                WorldTaskKinds.ShipmentEta => StatusTask(id, orders[random.Next(orders.Count)], random),
                WorldTaskKinds.Refund => RefundTask(id, orders[random.Next(orders.Count)], random),
                WorldTaskKinds.OrderTotal => TotalTask(id, products[random.Next(products.Count)], random),
                _ => PolicyTask(id, random),
            } with { Split = split };
        }
    }

    private static WorldTask StatusTask(string id, Order order, Random random) => new(id, WorldTaskKinds.OrderStatus,
        string.Format(CultureInfo.InvariantCulture, StatusQuestions[random.Next(StatusQuestions.Length)], order.Id),
        [new("lookup_order", new Dictionary<string, string> { ["order_id"] = order.Id })],
        [order.Status], "");

    private WorldTask EtaTask(string id, Order order, Random random) => new(id, WorldTaskKinds.ShipmentEta,
        string.Format(CultureInfo.InvariantCulture, EtaQuestions[random.Next(EtaQuestions.Length)], order.Id),
        [
            new("lookup_order", new Dictionary<string, string> { ["order_id"] = order.Id }),
            new("track_shipment", new Dictionary<string, string> { ["tracking_number"] = order.TrackingNumber! }),
        ],
        [world.Shipments[order.TrackingNumber!].EstimatedDelivery.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)], "");

    private WorldTask RefundTask(string id, Order order, Random random)
    {
        var (reason, phrase) = RefundReasons[random.Next(RefundReasons.Length)];
        var decision = RefundPolicy.Decide(order, world.Products, reason, StoreWorld.Today);
        List<string> facts = decision.Eligible ? ["eligible", Money(decision.RefundAmount)] : ["not eligible"];
        return new(id, WorldTaskKinds.Refund, $"I'd like a refund for order {order.Id} because {phrase}.",
            [new("check_refund_eligibility", new Dictionary<string, string> { ["order_id"] = order.Id, ["reason"] = reason })],
            facts, "");
    }

    private static WorldTask TotalTask(string id, Product product, Random random)
    {
        var quantity = 2 + random.Next(4);
        var discount = new[] { 10, 15, 20, 25 }[random.Next(4)];
        var expression = string.Format(CultureInfo.InvariantCulture, "{0} * {1} * {2}", quantity, product.Price, (100 - discount) / 100m);
        var total = Math.Round(quantity * product.Price * (100 - discount) / 100m, 2);
        return new(id, WorldTaskKinds.OrderTotal,
            $"How much would {quantity} x {product.Name} cost with a {discount}% discount code?",
            [new("calculator", new Dictionary<string, string> { ["expression"] = expression })],
            [Money(total)], "");
    }

    private static WorldTask PolicyTask(string id, Random random)
    {
        var (question, fact) = PolicyQuestions[random.Next(PolicyQuestions.Length)];
        // Any query wording is fine for a search: the trajectory is judged on the tool and the answer's facts.
        return new(id, WorldTaskKinds.Policy, question, [new("search_kb", new Dictionary<string, string>())], [fact], "");
    }

    public static string Money(decimal amount) => "$" + amount.ToString("0.00", CultureInfo.InvariantCulture);
}
