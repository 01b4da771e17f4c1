using Distill.World.Store;
using Distill.World.Tasks;
using static Distill.World.Tests.TestWorld;

namespace Distill.World.Tests;

/// <summary>Nothing a model could guess from base rates: statuses in equal shares, refund decisions alternating.</summary>
public sealed class WorldBalanceTests
{
    [Fact]
    public void Order_statuses_are_a_quarter_each_in_the_world_and_in_train()
    {
        foreach (var orders in new[] { TheWorld.Orders.Values.ToList(), TheWorld.OrdersIn(WorldSplits.Train) })
        {
            Assert.All(OrderStatus.All, status => Assert.InRange(orders.Count(o => o.Status == status) / (double)orders.Count, 0.23, 0.27));
        }
    }

    [Fact]
    public void Held_out_status_questions_ask_about_every_status_in_roughly_equal_shares()
    {
        var statuses = Generate(WorldSplits.HeldOut, 200, WorldTiers.Status).Select(t => TheWorld.Orders[t.ExpectedCalls[0].Arguments["order_id"]].Status).ToList();

        Assert.Equal(200, statuses.Count);
        Assert.All(OrderStatus.All, status => Assert.InRange(statuses.Count(s => s == status) / 200.0, 0.17, 0.33));
    }

    private static void AssertAlternates(IReadOnlyList<WorldTask> refunds)
    {
        var eligible = refunds.Select(t => RefundPolicy.Decide(TheWorld.Orders[t.ExpectedCalls[0].Arguments["order_id"]], TheWorld.Products,
            t.ExpectedCalls[0].Arguments["reason"], StoreWorld.Today).Eligible).ToList();

        Assert.Equal(Enumerable.Range(0, refunds.Count).Select(i => i % 2 == 0), eligible);
        Assert.Equal(eligible, refunds.Select(t => !t.ExpectedAnswerFacts.Contains("not eligible")));
    }

    [Theory]
    [InlineData(WorldSplits.Train)]
    [InlineData(WorldSplits.Dev)]
    [InlineData(WorldSplits.HeldOut)]
    public void Refund_tasks_alternate_eligible_and_not_eligible(string split)
    {
        var mixed = Generate(split, 400).Where(t => t.Tier == WorldTiers.Refund).Take(100).ToList();
        // More refunds than a small split has eligible orders: the alternation must hold past them.
        var refundsOnly = Generate(split, 300, WorldTiers.Refund);

        Assert.True(mixed.Count >= 40, $"only {mixed.Count} refund tasks");
        AssertAlternates(mixed);
        Assert.Equal(300, refundsOnly.Count);
        AssertAlternates(refundsOnly);
    }
}
