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

        Assert.Equal(World.Orders.Count, again.Orders.Count);
        Assert.All(World.Orders.Values, o => Assert.Equal(o.Total, again.Orders[o.Id].Total));
        Assert.Equal(World.Orders["A10007"].Status, again.Orders["A10007"].Status);
    }

    [Theory]
    [InlineData(WorldTaskGenerator.Train)]
    [InlineData(WorldTaskGenerator.HeldOut)]
    public void Every_demonstration_executes_the_expected_tools_and_states_the_ground_truth(string split)
    {
        var demonstrations = new ScriptedDemonstrations(World);

        foreach (var task in new WorldTaskGenerator(World).Generate(split, 200))
        {
            var messages = demonstrations.For(task);
            var calls = messages.SelectMany(m => m.ToolCalls).ToList();
            Assert.Equal(task.ExpectedCalls.Select(c => c.Name), calls.Select(c => c.Name));
            Assert.DoesNotContain(messages.Where(m => m.Role == ChatRoles.Tool), m => m.Content!.Contains("\"error\""));
            var answer = messages[^1].Content!;
            Assert.All(task.ExpectedAnswerFacts, fact => Assert.Contains(fact, answer));
        }
    }

    [Fact]
    public void Held_out_tasks_never_mention_training_orders()
    {
        var generator = new WorldTaskGenerator(World);
        static IEnumerable<string> Orders(IEnumerable<WorldTask> tasks) => tasks
            .SelectMany(t => t.ExpectedCalls).Where(c => c.Arguments.ContainsKey("order_id")).Select(c => c.Arguments["order_id"]);

        var train = Orders(generator.Generate(WorldTaskGenerator.Train, 500)).ToHashSet();
        var heldOut = Orders(generator.Generate(WorldTaskGenerator.HeldOut, 200)).ToHashSet();

        Assert.NotEmpty(heldOut);
        Assert.Empty(train.Intersect(heldOut));
    }

    [Fact]
    public void Task_generation_is_deterministic_and_ids_are_unique()
    {
        var first = new WorldTaskGenerator(World).Generate(WorldTaskGenerator.Train, 100).ToList();
        var second = new WorldTaskGenerator(new StoreWorld()).Generate(WorldTaskGenerator.Train, 100).ToList();

        Assert.Equal(first.Select(t => t.Question), second.Select(t => t.Question));
        Assert.Equal(100, first.Select(t => t.Id).Distinct().Count());
        Assert.Equal(WorldTaskKinds.All.Count, first.Select(t => t.Kind).Distinct().Count());
    }

    [Theory]
    [InlineData("2 + 3 * 4", "14")]
    [InlineData("(2 + 3) * 4", "20")]
    [InlineData("-(2 - 5)", "3")]
    [InlineData("3 * 24.99 * 0.9", "67.473")]
    [InlineData("10 / 4", "2.5")]
    public void Calculator_follows_precedence_exactly(string expression, string expected)
    {
        Assert.Equal(decimal.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), Calculator.Evaluate(expression));
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

    [Fact]
    public void Refund_policy_windows_and_final_sale_rules()
    {
        var products = new Dictionary<string, Product>
        {
            ["S1"] = new("S1", "Mug", "home", 10m, FinalSale: false),
            ["S2"] = new("S2", "Socks", "apparel", 5m, FinalSale: true),
        };
        Order Delivered(int daysAgo, params string[] skus) => new("A1", "C1", StoreWorld.Today.AddDays(-daysAgo - 3), OrderStatus.Delivered,
            skus.Select(s => new OrderLine(s, 2, products[s].Price)).ToList(), "TRK1", StoreWorld.Today.AddDays(-daysAgo));

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

        var result = await lookup.InvokeAsync(kernel, new KernelArguments { ["order_id"] = "A10003" });

        Assert.Equal(World.Orders["A10003"].Status, JsonDocument.Parse(result.ToString()).RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public void Knowledge_base_search_finds_the_relevant_article()
    {
        Assert.Equal("kb-refund-time", World.KnowledgeBase.Search("how long does a refund take")[0].Id);
        Assert.Equal("kb-cancel", World.KnowledgeBase.Search("cancel an order")[0].Id);
        Assert.Empty(World.KnowledgeBase.Search("zzz qqq"));
    }
}
