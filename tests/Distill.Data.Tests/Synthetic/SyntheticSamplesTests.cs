using Distill.Data.Synthetic;

namespace Distill.Data.Tests.Synthetic;

public class SyntheticSamplesTests
{
    [Fact]
    public void The_same_seed_gives_the_same_samples_in_every_process()
    {
        // Pinned literals: a generator seeded per process (HashCode.Combine was) passes any in-process comparison but not this.
        var first = SyntheticSamples.ToolTraces(2, seed: 3, logprobsTopK: 0).First();

        Assert.Equal("Hi, where is my order A36819? It was supposed to arrive 3 days ago and I might want a refund.", first.Messages[1].Content);
        Assert.Equal(-208375300, SyntheticSamples.StableSeed(3, 0, 0));
    }

    [Fact]
    public void Each_part_of_the_seed_changes_the_generator_seed()
    {
        var seeds = new[] { SyntheticSamples.StableSeed(3, 0, 0), SyntheticSamples.StableSeed(4, 0, 0), SyntheticSamples.StableSeed(3, 1, 0), SyntheticSamples.StableSeed(3, 0, 7919) };

        Assert.Equal(seeds.Length, seeds.Distinct().Count());
    }
}
