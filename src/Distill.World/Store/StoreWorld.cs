namespace Distill.World.Store;

/// <summary>
/// The embedded store: products, customers, orders and shipments generated deterministically from a seed, so every
/// machine builds the same world and tasks keep their ground truth. "Today" is fixed for the same reason.
/// </summary>
public sealed class StoreWorld
{
    public static readonly DateOnly Today = new(2026, 11, 1);

    public IReadOnlyDictionary<string, Product> Products { get; }
    public IReadOnlyDictionary<string, Customer> Customers { get; }
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

    private static readonly string[] FirstNames = ["Ana", "Ben", "Chloe", "Dev", "Elif", "Femi", "Greta", "Hiro", "Ines", "Jonas", "Kira", "Luis", "Mira", "Noor", "Omar", "Pia"];
    private static readonly string[] LastNames = ["Silva", "Okafor", "Berg", "Patel", "Kaya", "Adeyemi", "Larsen", "Tanaka", "Costa", "Weber", "Novak", "Garcia"];
    private static readonly string[] Carriers = ["UPS", "DHL", "FedEx"];
    private static readonly string[] Hubs = ["Memphis hub", "Chicago hub", "Louisville hub", "local depot"];

    public StoreWorld(int seed = 7, int customers = 40, int orders = 240)
    {
        var random = new Random(seed);
        Products = Catalogue
            .Select((p, i) => new Product($"SKU-{1000 + i}", p.Name, p.Category, p.Price, p.FinalSale))
            .ToDictionary(p => p.Sku);
        Customers = Enumerable.Range(0, customers)
            .Select(i =>
            {
                var first = FirstNames[random.Next(FirstNames.Length)];
                var last = LastNames[random.Next(LastNames.Length)];
                return new Customer($"C{100 + i}", $"{first} {last}", $"{first}.{last}{i}@example.com".ToLowerInvariant());
            })
            .ToDictionary(c => c.Id);

        var skus = Products.Keys.ToArray();
        var orderList = new List<Order>();
        var shipments = new Dictionary<string, Shipment>();
        for (var i = 0; i < orders; i++)
        {
            var placed = Today.AddDays(-random.Next(0, 90));
            var lines = Enumerable.Range(0, 1 + random.Next(3))
                .Select(_ => skus[random.Next(skus.Length)]).Distinct()
                .Select(sku => new OrderLine(sku, 1 + random.Next(3), Products[sku].Price))
                .ToList();
            var age = Today.DayNumber - placed.DayNumber;
            var status = random.Next(20) == 0 ? OrderStatus.Cancelled
                : age < 2 ? OrderStatus.Processing
                : age < 6 ? OrderStatus.Shipped
                : OrderStatus.Delivered;
            string? tracking = null;
            DateOnly? delivered = null;
            if (status is OrderStatus.Shipped or OrderStatus.Delivered)
            {
                tracking = $"TRK{random.Next(10_000_000, 99_999_999)}";
                var shippedOn = placed.AddDays(1);
                var eta = shippedOn.AddDays(3 + random.Next(3));
                if (status == OrderStatus.Delivered)
                {
                    delivered = eta <= Today ? eta : Today;
                    eta = delivered.Value;
                }
                var events = new List<ShipmentEvent> { new(shippedOn, "warehouse", "picked up by carrier") };
                var hub = Hubs[random.Next(Hubs.Length - 1)];
                var inTransit = shippedOn.AddDays(1);
                if (inTransit <= Today)
                {
                    events.Add(new(inTransit, hub, "in transit"));
                }
                if (delivered is { } d)
                {
                    events.Add(new(d, "customer address", "delivered"));
                }
                shipments[tracking] = new Shipment(tracking, Carriers[random.Next(Carriers.Length)], eta, events);
            }
            var customer = $"C{100 + random.Next(customers)}";
            orderList.Add(new Order($"A{10_000 + i}", customer, placed, status, lines, tracking, delivered));
        }
        Orders = orderList.ToDictionary(o => o.Id);
        Shipments = shipments;
    }
}
