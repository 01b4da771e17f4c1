using Distill.World.Store;
using Distill.World.Tasks;

namespace Distill.World.Tests;

/// <summary>The default world, its generator and demonstrations, built once for all tests (they are read-only).</summary>
internal static class TestWorld
{
    public static readonly StoreWorld TheWorld = new();
    public static readonly WorldTaskGenerator Generator = new(TheWorld);
    public static readonly ScriptedDemonstrations Demonstrations = new(TheWorld);

    public static List<WorldTask> Generate(string split, int count, params string[] tiers) =>
        Generator.Generate(split, count, tiers.Length == 0 ? null : tiers).ToList();

    /// <summary>Order ids and tracking numbers a task's ground truth names.</summary>
    public static IEnumerable<string> Ids(WorldTask task) => task.ExpectedCalls
        .SelectMany(c => c.Arguments.Where(a => a.Key is "order_id" or "tracking_number").Select(a => a.Value))
        .SelectMany(id => TheWorld.Orders.TryGetValue(id, out var order) && order.TrackingNumber is { } tracking ? [id, tracking] : new[] { id });

    /// <summary>Everything a demonstration says: contents, reasoning and tool-call arguments.</summary>
    public static string Text(WorldTask task) => string.Join('\n', Demonstrations.For(task)
        .SelectMany(m => new[] { m.Content, m.Reasoning }.Concat(m.ToolCalls.Select(c => c.Arguments))));
}
