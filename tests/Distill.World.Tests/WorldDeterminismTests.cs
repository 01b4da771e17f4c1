using System.Text.Json;
using Distill.World.Store;
using Distill.World.Tasks;
using static Distill.World.Tests.TestWorld;

namespace Distill.World.Tests;

public sealed class WorldDeterminismTests
{
    // Records compare lists by reference, so tasks are compared through their JSON.
    private static List<string> Json(IEnumerable<WorldTask> tasks) => tasks.Select(t => JsonSerializer.Serialize(t)).ToList();

    [Theory]
    [InlineData(WorldSplits.Train, null)]
    [InlineData(WorldSplits.Dev, null)]
    [InlineData(WorldSplits.HeldOut, null)]
    [InlineData(WorldSplits.HeldOut, "T1,T3")]
    public void Task_i_is_the_same_whatever_the_count(string split, string? tiers)
    {
        var filter = tiers?.Split(',');

        var few = Json(Generator.Generate(split, 30, filter));
        var many = Json(Generator.Generate(split, 400, filter));

        Assert.Equal(30, few.Count);
        Assert.Equal(few, many.Take(30));
    }

    [Fact]
    public void The_same_seed_gives_the_same_tasks_in_a_new_world()
    {
        var again = new WorldTaskGenerator(new StoreWorld());

        foreach (var split in WorldSplits.All)
        {
            Assert.Equal(Json(Generator.Generate(split, 200)), Json(again.Generate(split, 200)));
        }
    }

    [Fact]
    public void Another_world_seed_gives_other_tasks()
    {
        var other = new WorldTaskGenerator(new StoreWorld(seed: 8));

        Assert.NotEqual(Json(Generator.Generate(WorldSplits.Train, 50)), Json(other.Generate(WorldSplits.Train, 50)));
    }

    [Fact]
    public void Task_ids_are_unique_numbered_and_name_their_split()
    {
        foreach (var split in WorldSplits.All)
        {
            var tasks = Generate(split, 300);

            Assert.Equal(Enumerable.Range(0, 300).Select(i => $"world-{split}-{i:D5}"), tasks.Select(t => t.Id));
            Assert.All(tasks, t => Assert.Equal(split, t.Split));
        }
    }
}
