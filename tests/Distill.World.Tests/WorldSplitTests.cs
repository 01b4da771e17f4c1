using System.Globalization;
using Distill.World.Store;
using Distill.World.Tasks;
using static Distill.World.Tests.TestWorld;

namespace Distill.World.Tests;

public sealed class WorldSplitTests
{
    private static void AssertShares(IReadOnlyDictionary<string, int> counts)
    {
        double total = counts.Values.Sum();
        Assert.InRange(counts[WorldSplits.Train] / total, 0.77, 0.83);
        Assert.InRange(counts[WorldSplits.Dev] / total, 0.08, 0.12);
        Assert.InRange(counts[WorldSplits.HeldOut] / total, 0.08, 0.12);
    }

    [Fact]
    public void Every_order_lands_in_exactly_one_split_in_80_10_10_shares()
    {
        var bySplit = WorldSplits.All.ToDictionary(s => s, s => TheWorld.OrdersIn(s));

        Assert.Equal(TheWorld.Orders.Count, bySplit.Values.Sum(orders => orders.Count));
        Assert.Equal(TheWorld.Orders.Keys.Order(StringComparer.Ordinal), bySplit.Values.SelectMany(o => o).Select(o => o.Id).Order(StringComparer.Ordinal));
        Assert.All(bySplit, split => Assert.All(split.Value, o => Assert.Equal(split.Key, WorldSplits.Of(o.Id))));
        AssertShares(bySplit.ToDictionary(s => s.Key, s => s.Value.Count));
    }

    [Fact]
    public void Every_expression_lands_in_exactly_one_split_in_80_10_10_shares()
    {
        // Every expression the generator can draw: a op b with 2 <= b <= a <= 99.
        var expressions = (from a in Enumerable.Range(2, 98)
                           from b in Enumerable.Range(2, a - 1)
                           from op in "+-*"
                           select string.Create(CultureInfo.InvariantCulture, $"{a}{op}{b}")).ToList();

        var splits = expressions.Select(WorldSplits.Of).ToList();

        Assert.All(splits, s => Assert.Contains(s, WorldSplits.All));
        Assert.Equal(splits, expressions.Select(WorldSplits.Of));
        AssertShares(splits.GroupBy(s => s).ToDictionary(g => g.Key, g => g.Count()));
        foreach (var split in WorldSplits.All)
        {
            Assert.All(Generate(split, 100, WorldTiers.Arithmetic), t => Assert.Equal(split, WorldSplits.Of(t.ExpectedCalls[0].Arguments["expression"])));
        }
    }

    [Fact]
    public void Train_dev_and_held_out_tasks_never_share_an_order_id_or_tracking_number()
    {
        var ids = new Dictionary<string, HashSet<string>>
        {
            [WorldSplits.Train] = Generate(WorldSplits.Train, 2000).SelectMany(Ids).ToHashSet(),
            [WorldSplits.Dev] = Generate(WorldSplits.Dev, 1000).SelectMany(Ids).ToHashSet(),
            [WorldSplits.HeldOut] = Generate(WorldSplits.HeldOut, 1000).SelectMany(Ids).ToHashSet(),
        };

        Assert.All(ids.Values, set => Assert.Contains(set, id => id.StartsWith('T')));
        Assert.Empty(ids[WorldSplits.Train].Intersect(ids[WorldSplits.Dev]));
        Assert.Empty(ids[WorldSplits.Train].Intersect(ids[WorldSplits.HeldOut]));
        Assert.Empty(ids[WorldSplits.Dev].Intersect(ids[WorldSplits.HeldOut]));
        Assert.All(ids, split => Assert.All(split.Value.Where(id => id.StartsWith('A')), id => Assert.Equal(split.Key, WorldSplits.Of(id))));
    }

    [Fact]
    public void No_dev_or_held_out_id_appears_in_any_train_demonstration()
    {
        var trainTasks = Generate(WorldSplits.Train, 2000);
        var train = string.Join('\n', trainTasks.Select(Text));
        var evaluationOrders = TheWorld.OrdersIn(WorldSplits.HeldOut).Concat(TheWorld.OrdersIn(WorldSplits.Dev)).ToList();
        var evaluationIds = evaluationOrders.Select(o => o.Id).Concat(evaluationOrders.Select(o => o.TrackingNumber).OfType<string>()).ToList();

        Assert.True(evaluationIds.Count > 800, $"only {evaluationIds.Count} evaluation ids");
        // The search does find the ids a demonstration names (order ids and the tracking numbers it reads from a lookup).
        Assert.All(trainTasks.Where(t => t.Tier is WorldTiers.Status or WorldTiers.Eta).Take(50).SelectMany(Ids), id => Assert.Contains(id, train, StringComparison.Ordinal));
        Assert.DoesNotContain(evaluationIds, id => train.Contains(id, StringComparison.Ordinal));
    }
}
