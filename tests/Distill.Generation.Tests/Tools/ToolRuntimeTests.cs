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

    /// <summary>A tool whose schema nests: an enum, a required object with required numbers, a list of bounded strings.</summary>
    private static readonly ToolRuntime Weather = new([KernelFunctionFactory.CreateFromMethod(
        (string city, string unit, string where, string? tags = null) => $"{city}|{unit}|{where}|{tags}",
        functionName: "weather",
        description: "Forecast for a place",
        parameters:
        [
            new KernelParameterMetadata("city") { Schema = KernelJsonSchema.Parse("""{"type": "string"}"""), IsRequired = true },
            new KernelParameterMetadata("unit") { Schema = KernelJsonSchema.Parse("""{"type": "string", "enum": ["celsius", "fahrenheit"]}"""), IsRequired = true },
            new KernelParameterMetadata("where")
            {
                Schema = KernelJsonSchema.Parse("""
                    {"type": "object", "properties": {"lat": {"type": "number"}, "lon": {"type": "number"},
                     "label": {"type": "object", "properties": {"kind": {"enum": ["city", "port"]}}, "required": ["kind"]}},
                     "required": ["lat", "lon"]}
                    """),
                IsRequired = true,
            },
            new KernelParameterMetadata("tags") { Schema = KernelJsonSchema.Parse("""{"type": "array", "items": {"type": "string", "maxLength": 5}}""") },
        ])]);

    private static async Task<ToolResult> CallWeather(string arguments) => await Weather.InvokeAsync(new ToolCall("c", "weather", arguments));

    /// <summary>The message inside the <c>{"error": ...}</c> result the teacher reads.</summary>
    private static string ErrorText(ToolResult result) => JsonDocument.Parse(result.Content).RootElement.GetProperty("error").GetString()!;

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

    [Fact]
    public async Task Valid_nested_arguments_execute_the_tool()
    {
        var result = await CallWeather("""{"city": "Paris", "unit": "celsius", "where": {"lat": 48.9, "lon": 2.35}, "tags": ["rain"]}""");

        Assert.False(result.IsError, result.Content);
        Assert.Equal("""Paris|celsius|{"lat": 48.9, "lon": 2.35}|["rain"]""", result.Content);
    }

    [Fact]
    public async Task Nested_value_of_the_wrong_type_is_a_tool_error_naming_its_path_and_rule()
    {
        var result = await CallWeather("""{"city": "Paris", "unit": "celsius", "where": {"lat": "north", "lon": 2.35}}""");

        Assert.Equal(ToolErrorReasons.InvalidArguments, result.ErrorReason);
        Assert.Contains("'where.lat' must be number, not string (/properties/where/properties/lat/type)", ErrorText(result));
    }

    [Fact]
    public async Task Missing_nested_required_key_is_a_tool_error()
    {
        var result = await CallWeather("""{"city": "Paris", "unit": "celsius", "where": {"lat": 48.9, "label": {}}}""");

        Assert.Equal(ToolErrorReasons.InvalidArguments, result.ErrorReason);
        Assert.Contains("required argument 'where.lon' is missing (/properties/where/required)", ErrorText(result));
        Assert.Contains("required argument 'where.label.kind' is missing", ErrorText(result));
    }

    [Fact]
    public async Task Value_outside_an_enum_is_a_tool_error_listing_the_allowed_values()
    {
        var top = await CallWeather("""{"city": "Paris", "unit": "kelvin", "where": {"lat": 1, "lon": 2}}""");
        var nested = await CallWeather("""{"city": "Paris", "unit": "celsius", "where": {"lat": 1, "lon": 2, "label": {"kind": "lake"}}}""");

        Assert.Equal(ToolErrorReasons.InvalidArguments, top.ErrorReason);
        Assert.Contains("'unit' must be one of \"celsius\", \"fahrenheit\", not \"kelvin\" (/properties/unit/enum)", ErrorText(top));
        Assert.Contains("'where.label.kind' must be one of \"city\", \"port\", not \"lake\"", ErrorText(nested));
    }

    [Fact]
    public async Task Array_items_are_checked_against_the_item_schema()
    {
        var result = await CallWeather("""{"city": "Paris", "unit": "celsius", "where": {"lat": 1, "lon": 2}, "tags": ["rain", 7, "thunderstorm"]}""");

        Assert.Equal(ToolErrorReasons.InvalidArguments, result.ErrorReason);
        Assert.Contains("'tags[1]' must be string, not integer", ErrorText(result));
        Assert.Contains("'tags[2]'", ErrorText(result));
    }
}
