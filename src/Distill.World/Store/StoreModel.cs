namespace Distill.World.Store;

/// <summary>The embedded store's records. Prices are in US dollars; dates are calendar days.</summary>
public sealed record Product(string Sku, string Name, string Category, decimal Price, bool FinalSale);

public sealed record Customer(string Id, string Name, string Email);

public sealed record OrderLine(string Sku, int Quantity, decimal UnitPrice);

public static class OrderStatus
{
    public const string Processing = "processing";
    public const string Shipped = "shipped";
    public const string Delivered = "delivered";
    public const string Cancelled = "cancelled";
}

public sealed record Order(
    string Id,
    string CustomerId,
    DateOnly Placed,
    string Status,
    IReadOnlyList<OrderLine> Lines,
    string? TrackingNumber,
    DateOnly? DeliveredOn)
{
    public decimal Total => Lines.Sum(l => l.UnitPrice * l.Quantity);
}

public sealed record ShipmentEvent(DateOnly Date, string Location, string Description);

public sealed record Shipment(string TrackingNumber, string Carrier, DateOnly EstimatedDelivery, IReadOnlyList<ShipmentEvent> Events);

public sealed record KnowledgeArticle(string Id, string Title, string Body);
