using Distill.Core.Errors;
using Distill.World.Store;
using Distill.World.Tasks;
using static Distill.World.Tasks.WorldTiers;
using static Distill.World.Tests.TestWorld;

namespace Distill.World.Tests;

public sealed class WorldTaskGeneratorTests
{
    [Fact]
    public void A_tier_filter_gives_only_those_tiers_in_turn()
    {
        var tasks = Generate(WorldSplits.HeldOut, 40, Status, Refund);

        Assert.Equal(40, tasks.Count);
        Assert.Equal(Enumerable.Range(0, 40).Select(i => i % 2 == 0 ? Status : Refund), tasks.Select(t => t.Tier));
        Assert.All(Generate(WorldSplits.Train, 20, Eta), t => Assert.Equal(Eta, t.Tier));
    }

    [Fact]
    public void Without_a_filter_evaluation_cycles_through_every_tier_and_training_covers_them_all()
    {
        Assert.Equal(All.Concat(All), Generate(WorldSplits.Dev, 10).Select(t => t.Tier));
        Assert.Equal(All.Order(StringComparer.Ordinal), Generate(WorldSplits.Train, 10).Select(t => t.Tier).Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Each_tier_asks_for_its_tools_and_its_kind()
    {
        var tasks = Generate(WorldSplits.Dev, 5);

        Assert.Equal(["calculator", "lookup_order", "lookup_order,track_shipment", "check_refund_eligibility", "search_kb"],
            tasks.Select(t => string.Join(',', t.ExpectedCalls.Select(c => c.Name))));
        Assert.Equal(["calculator", "order_status", "shipment_eta", "refund", "policy"], tasks.Select(t => t.Kind));
    }

    [Theory]
    [InlineData("T9", "unknown world tier 'T9'")]
    [InlineData("t1", "unknown world tier 't1'")]
    public void An_unknown_tier_is_a_distill_exception(string tier, string expected)
    {
        var e = Assert.Throws<DistillException>(() => Generator.Generate(WorldSplits.HeldOut, 5, [tier]));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_split_is_a_distill_exception()
    {
        var e = Assert.Throws<DistillException>(() => Generator.Generate("test", 5));

        Assert.Contains("unknown world split 'test'", e.Message, StringComparison.Ordinal);
    }
}
