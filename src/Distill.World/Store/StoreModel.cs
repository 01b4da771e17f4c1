namespace Distill.World.Store;

/// <summary>The embedded store's records. Prices are in US dollars; dates are calendar days.</summary>
public sealed record Product(string Sku, string Name, string Category, decimal Price, bool FinalSale);

public sealed record OrderLine(string Sku, int Quantity, decimal UnitPrice);

public static class OrderStatus
{
    public const string Processing = "processing";
    public const string Shipped = "shipped";
    public const string Delivered = "delivered";
    public const string Cancelled = "cancelled";

    public static readonly IReadOnlyList<string> All = [Processing, Shipped, Delivered, Cancelled];
}

public sealed record Order(
    string Id,
    DateOnly Placed,
    string Status,
    IReadOnlyList<OrderLine> Lines,
    string? TrackingNumber,
    DateOnly? DeliveredOn)
{
    public decimal Total => Lines.Sum(l => l.UnitPrice * l.Quantity);
}

public sealed record Shipment(string TrackingNumber, string Carrier, DateOnly EstimatedDelivery);

public sealed record KnowledgeArticle(string Id, string Title, string Body);
