using System.Text.Json;
using Distill.Core.Samples;
using Distill.Generation.Tools;
using Distill.World.Store;
using Distill.World.Tools;
using Microsoft.SemanticKernel;

namespace Distill.Generation.Tests.Tools;

public sealed class ToolRuntimeTests
{
    private static readonly ToolRuntime World = new(StoreTools.CreatePlugin(new StoreWorld()));

    private static ToolRuntime Typed() => new([KernelFunctionFactory.CreateFromMethod(
        (int quantity, double price, bool gift, string note) => $"{quantity}|{price}|{gift}|{note}", "order_math")]);

    [Fact]
    public void Schemas_offer_every_world_tool_with_required_parameters()
    {
        using var doc = JsonDocument.Parse(World.SchemasJson);
        var names = doc.RootElement.EnumerateArray().Select(t => t.GetProperty("function").GetProperty("name").GetString()).ToList();
        Assert.Equal(["calculator", "check_refund_eligibility", "lookup_order", "search_kb", "track_shipment"], names);
        var refund = doc.RootElement.EnumerateArray().Single(t => t.GetProperty("function").GetProperty("name").GetString() == "check_refund_eligibility");
        Assert.Equal(["order_id", "reason"], refund.GetProperty("function").GetProperty("parameters").GetProperty("required").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Valid_call_executes_the_real_world_tool()
    {
        var world = new StoreWorld();
        var order = world.Orders.Values.First();

        var result = await World.InvokeAsync(new ToolCall("c1", "lookup_order", $$"""{"order_id": "{{order.Id}}"}"""));

        Assert.False(result.IsError, result.Content);
        using var doc = JsonDocument.Parse(result.Content);
        Assert.Equal(order.Id, doc.RootElement.GetProperty("order_id").GetString());
        Assert.Equal(order.Status, doc.RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Calculator_tool_computes_exactly()
    {
        var result = await World.InvokeAsync(new ToolCall("c1", "calculator", """{"expression": "3 * 24.99 * 0.9"}"""));

        Assert.Equal(67.47m, JsonDocument.Parse(result.Content).RootElement.GetProperty("result").GetDecimal());
    }

    [Fact]
    public async Task Unknown_tool_is_a_tool_error_naming_the_available_tools()
    {
        var result = await World.InvokeAsync(new ToolCall("c1", "delete_all_orders", "{}"));

        Assert.Equal(ToolErrorReasons.UnknownTool, result.ErrorReason);
        Assert.Contains("lookup_order", result.Content);
    }

    [Theory]
    [InlineData("{\"order_id\": 12", "not valid JSON")]
    [InlineData("[1, 2]", "must be a JSON object")]
    [InlineData("{}", "required argument 'order_id' is missing")]
    [InlineData("{\"order_id\": 12}", "'order_id' must be string")]
    [InlineData("{\"order_id\": \"A1\", \"force\": true}", "unknown argument 'force'")]
    public async Task Invalid_arguments_are_a_tool_error(string arguments, string expected)
    {
        var result = await World.InvokeAsync(new ToolCall("c1", "lookup_order", arguments));

        Assert.Equal(ToolErrorReasons.InvalidArguments, result.ErrorReason);
        Assert.Contains(expected, result.Content);
    }

    [Fact]
    public async Task Typed_parameters_are_checked_and_converted()
    {
        var tools = Typed();

        var ok = await tools.InvokeAsync(new ToolCall("c", "order_math", """{"quantity": 3, "price": 2.5, "gift": true, "note": "hi"}"""));
        var fractional = await tools.InvokeAsync(new ToolCall("c", "order_math", """{"quantity": 3.5, "price": 2.5, "gift": true, "note": "hi"}"""));
        var stringBool = await tools.InvokeAsync(new ToolCall("c", "order_math", """{"quantity": 3, "price": 2.5, "gift": "yes", "note": "hi"}"""));

        Assert.False(ok.IsError, ok.Content);
        Assert.Equal("3|2.5|True|hi", ok.Content);
        Assert.Equal(ToolErrorReasons.InvalidArguments, fractional.ErrorReason);
        Assert.Equal(ToolErrorReasons.InvalidArguments, stringBool.ErrorReason);
    }
}
