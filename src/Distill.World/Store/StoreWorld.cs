namespace Distill.World.Store;

/// <summary>
/// The embedded store: products, orders and shipments generated deterministically from a seed, so every machine builds the same
/// world and tasks keep their ground truth. "Today" is fixed for the same reason. Designed so a small model can learn it and be
/// measured honestly: thousands of orders with random five-digit ids (nothing about an id tells its split or status), statuses in
/// equal shares (the status cannot be guessed without reading the lookup), and compact tool results.
/// </summary>
public sealed class StoreWorld
{
    public static readonly DateOnly Today = new(2026, 11, 1);
    public const int DefaultOrders = 4000;

    public IReadOnlyDictionary<string, Product> Products { get; }
    public IReadOnlyDictionary<string, Order> Orders { get; }
    public IReadOnlyDictionary<string, Shipment> Shipments { get; }
    public KnowledgeBase KnowledgeBase { get; } = new(KnowledgeBase.Default);

    private static readonly (string Name, string Category, decimal Price, bool FinalSale)[] Catalogue =
    [
        ("Wireless Mouse", "electronics", 24.99m, false), ("Mechanical Keyboard", "electronics", 89.00m, false),
        ("USB-C Charger", "electronics", 19.50m, false), ("Noise-Cancelling Headphones", "electronics", 149.00m, false),
        ("Desk Lamp", "home", 32.00m, false), ("Ceramic Mug", "home", 9.75m, false), ("Throw Blanket", "home", 45.00m, true),
        ("Running Shoes", "apparel", 79.95m, false), ("Rain Jacket", "apparel", 64.00m, false), ("Wool Socks", "apparel", 12.00m, true),
        ("Yoga Mat", "sports", 28.00m, false), ("Water Bottle", "sports", 15.25m, false), ("Bike Light", "sports", 21.40m, false),
        ("Notebook Set", "office", 11.60m, false), ("Gel Pens", "office", 6.30m, true), ("Monitor Stand", "office", 54.00m, false),
    ];

    private static readonly string[] Carriers = ["UPS", "DHL", "FedEx"];

    public StoreWorld(int seed = 7, int orders = DefaultOrders)
    {
        var random = new Random(seed);
        Products = Catalogue
            .Select((p, i) => new Product($"SKU-{1000 + i}", p.Name, p.Category, p.Price, p.FinalSale))
            .ToDictionary(p => p.Sku);
        var skus = Products.Keys.ToArray();

        var orderIds = DistinctCodes(random, "A", orders);
        var trackingNumbers = DistinctCodes(random, "T", orders);
        var orderList = new List<Order>(orders);
        var shipments = new Dictionary<string, Shipment>();
        for (var i = 0; i < orders; i++)
        {
            var status = OrderStatus.All[i % OrderStatus.All.Count];
            var lines = Enumerable.Range(0, 1 + random.Next(3))
                .Select(_ => skus[random.Next(skus.Length)]).Distinct()
                .Select(sku => new OrderLine(sku, 1 + random.Next(3), Products[sku].Price))
                .ToList();
            DateOnly placed;
            string? tracking = null;
            DateOnly? delivered = null;
            switch (status)
            {
                case OrderStatus.Processing:
                    placed = Today.AddDays(-random.Next(0, 2));
                    break;
                case OrderStatus.Shipped:
                    placed = Today.AddDays(-random.Next(2, 6));
                    tracking = trackingNumbers[i];
                    shipments[tracking] = new Shipment(tracking, Carriers[random.Next(Carriers.Length)], Today.AddDays(1 + random.Next(5)));
                    break;
                case OrderStatus.Delivered:
                    // Delivered 1 to 80 days ago, so refund windows (30 and 60 days) fall both ways.
                    delivered = Today.AddDays(-1 - random.Next(80));
                    placed = delivered.Value.AddDays(-3 - random.Next(4));
                    tracking = trackingNumbers[i];
                    shipments[tracking] = new Shipment(tracking, Carriers[random.Next(Carriers.Length)], delivered.Value);
                    break;
                default:
                    placed = Today.AddDays(-random.Next(1, 60));
                    break;
            }
            orderList.Add(new Order(orderIds[i], placed, status, lines, tracking, delivered));
        }
        Orders = orderList.ToDictionary(o => o.Id);
        Shipments = shipments;
    }

    /// <summary>The orders of one split, in a fixed order.</summary>
    public IReadOnlyList<Order> OrdersIn(string split) =>
        Orders.Values.Where(o => WorldSplits.Of(o.Id) == split).OrderBy(o => o.Id, StringComparer.Ordinal).ToList();

    // Five random digits after a letter: random, so no digit pattern separates splits or statuses.
    private static string[] DistinctCodes(Random random, string prefix, int count)
    {
        var codes = new HashSet<string>(StringComparer.Ordinal);
        var ordered = new List<string>(count);
        while (ordered.Count < count)
        {
            var code = prefix + random.Next(10_000, 100_000).ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (codes.Add(code)) ordered.Add(code);
        }
        return ordered.ToArray();
    }
}
