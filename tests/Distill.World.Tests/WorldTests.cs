using System.Text.Json;
using Distill.Core.Samples;
using Distill.World.Store;
using Distill.World.Tasks;
using Distill.World.Tools;
using Microsoft.SemanticKernel;

namespace Distill.World.Tests;

public sealed class WorldTests
{
    private static readonly StoreWorld World = new();

    [Fact]
    public void Same_seed_builds_the_same_world()
    {
        var again = new StoreWorld();

        Assert.Equal(StoreWorld.DefaultOrders, World.Orders.Count);
        Assert.Equal(World.Orders.Keys, again.Orders.Keys);
        Assert.All(World.Orders.Values, o => Assert.Equal((o.Status, o.Total, o.TrackingNumber, o.DeliveredOn),
            (again.Orders[o.Id].Status, again.Orders[o.Id].Total, again.Orders[o.Id].TrackingNumber, again.Orders[o.Id].DeliveredOn)));
        Assert.Equal(World.Shipments, again.Shipments);
    }

    [Fact]
    public void A_different_seed_builds_a_different_world()
    {
        var other = new StoreWorld(seed: 8);

        Assert.NotEqual(World.Orders.Keys.Order(StringComparer.Ordinal), other.Orders.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Ids_are_a_letter_and_five_digits_and_every_tracked_order_has_its_shipment()
    {
        Assert.All(World.Orders.Values, o => Assert.Matches("^A[0-9]{5}$", o.Id));
        Assert.All(World.Shipments.Keys, t => Assert.Matches("^T[0-9]{5}$", t));
        Assert.All(World.Orders.Values.Where(o => o.TrackingNumber is not null), o => Assert.Contains(o.TrackingNumber!, World.Shipments.Keys));
        Assert.All(World.Orders.Values, o => Assert.Equal(o.Status is OrderStatus.Shipped or OrderStatus.Delivered, o.TrackingNumber is not null));
        Assert.All(World.Orders.Values, o => Assert.Equal(o.Status == OrderStatus.Delivered, o.DeliveredOn is not null));
    }

    [Theory]
    [InlineData("2 +")]
    [InlineData("(1 + 2")]
    [InlineData("1 / 0")]
    [InlineData("import os")]
    public void Calculator_tool_reports_bad_expressions_as_errors(string expression)
    {
        var result = JsonDocument.Parse(new StoreTools(World).Calculate(expression)).RootElement;

        Assert.True(result.TryGetProperty("error", out _));
    }

    [Theory]
    [InlineData("8*12", "96")]
    [InlineData("10 / 4", "2.5")]
    [InlineData("3 * 24.99 * 0.9", "67.47")]
    public void Calculator_tool_result_is_compact_and_rounded_to_cents(string expression, string expected)
    {
        Assert.Equal($$"""{"result":{{expected}}}""", new StoreTools(World).Calculate(expression));
    }

    [Fact]
    public void Refund_policy_windows_and_final_sale_rules()
    {
        var products = new Dictionary<string, Product>
        {
            ["S1"] = new("S1", "Mug", "home", 10m, FinalSale: false),
            ["S2"] = new("S2", "Socks", "apparel", 5m, FinalSale: true),
        };
        Order Delivered(int daysAgo, params string[] skus) => new("A1", StoreWorld.Today.AddDays(-daysAgo - 3), OrderStatus.Delivered,
            skus.Select(s => new OrderLine(s, 2, products[s].Price)).ToList(), "T1", StoreWorld.Today.AddDays(-daysAgo));

        Assert.True(RefundPolicy.Decide(Delivered(10, "S1"), products, "changed_mind", StoreWorld.Today).Eligible);
        Assert.False(RefundPolicy.Decide(Delivered(45, "S1"), products, "changed_mind", StoreWorld.Today).Eligible);
        Assert.True(RefundPolicy.Decide(Delivered(45, "S1"), products, "damaged", StoreWorld.Today).Eligible);
        Assert.False(RefundPolicy.Decide(Delivered(61, "S1"), products, "damaged", StoreWorld.Today).Eligible);
        Assert.False(RefundPolicy.Decide(Delivered(5, "S2"), products, "changed_mind", StoreWorld.Today).Eligible);
        // Mixed order, changed mind: only the non-final-sale line is refunded (2 x 10).
        Assert.Equal(20m, RefundPolicy.Decide(Delivered(5, "S1", "S2"), products, "changed_mind", StoreWorld.Today).RefundAmount);
        var processing = Delivered(1, "S1") with { Status = OrderStatus.Processing, DeliveredOn = null };
        Assert.False(RefundPolicy.Decide(processing, products, "damaged", StoreWorld.Today).Eligible);
    }

    [Fact]
    public async Task Tools_are_semantic_kernel_functions_with_schemas_and_really_execute()
    {
        var plugin = StoreTools.CreatePlugin(World);
        var kernel = new Kernel();

        Assert.Equal(["calculator", "check_refund_eligibility", "lookup_order", "search_kb", "track_shipment"],
            plugin.Select(f => f.Name).Order(StringComparer.Ordinal));
        var lookup = plugin["lookup_order"];
        var parameter = Assert.Single(lookup.Metadata.Parameters);
        Assert.Equal("order_id", parameter.Name);
        Assert.True(parameter.IsRequired);
        Assert.Equal("string", parameter.Schema!.RootElement.GetProperty("type").GetString());

        var shipped = World.Orders.Values.First(o => o.Status == OrderStatus.Shipped);
        var result = await lookup.InvokeAsync(kernel, new KernelArguments { ["order_id"] = shipped.Id.ToLowerInvariant() });

        // Compact: only what an answer needs.
        Assert.Equal($$"""{"order_id":"{{shipped.Id}}","status":"shipped","tracking_number":"{{shipped.TrackingNumber}}"}""", result.ToString());
    }

    [Fact]
    public void Tool_results_are_compact_json_with_only_what_an_answer_needs()
    {
        var tools = new StoreTools(World);
        var delivered = World.Orders.Values.First(o => o.Status == OrderStatus.Delivered);
        var processing = World.Orders.Values.First(o => o.Status == OrderStatus.Processing);
        var shipment = World.Shipments[delivered.TrackingNumber!];

        Assert.Equal($$"""{"order_id":"{{delivered.Id}}","status":"delivered","tracking_number":"{{delivered.TrackingNumber}}","delivered":"{{StoreTools.Date(delivered.DeliveredOn!.Value)}}"}""",
            tools.LookupOrder(delivered.Id));
        Assert.Equal($$"""{"order_id":"{{processing.Id}}","status":"processing"}""", tools.LookupOrder(processing.Id));
        Assert.Equal($$"""{"tracking_number":"{{shipment.TrackingNumber}}","carrier":"{{shipment.Carrier}}","estimated_delivery":"{{StoreTools.Date(shipment.EstimatedDelivery)}}"}""",
            tools.TrackShipment(shipment.TrackingNumber));
        Assert.Equal($$"""{"order_id":"{{processing.Id}}","eligible":false,"reason":"the order is processing; only delivered orders can be refunded"}""",
            tools.CheckRefundEligibility(processing.Id, "damaged"));
        Assert.Equal("""{"error":"no order with id A00000"}""", tools.LookupOrder("A00000"));
    }

    [Fact]
    public void Knowledge_base_search_finds_the_relevant_article()
    {
        Assert.Equal("kb-refund-time", World.KnowledgeBase.Search("how long does a refund take")[0].Id);
        Assert.Equal("kb-cancel", World.KnowledgeBase.Search("cancel an order")[0].Id);
        Assert.Empty(World.KnowledgeBase.Search("zzz qqq"));
    }
}
