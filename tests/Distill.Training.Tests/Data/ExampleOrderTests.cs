using Distill.Training.Data;

namespace Distill.Training.Tests.Data;

[Collection(TrainingCollection.Name)]
public class ExampleOrderTests(TrainingFixture fx)
{
    [Fact]
    public async Task The_same_rows_stored_in_another_order_give_the_same_examples_in_the_same_order()
    {
        // Generation commits rows in completion order; the batches must depend on the seed, not on that order.
        var samples = fx.Samples.Take(12).ToList();
        var forward = fx.NewDir("order-forward");
        var backward = fx.NewDir("order-backward");
        TrainingFixture.WriteDataset(forward, samples);
        TrainingFixture.WriteDataset(backward, Enumerable.Reverse(samples));

        var a = await TrainingData.LoadAsync([forward], new SampleEncoder(fx.Tokenizer, 4096, 0), 0.25);
        var b = await TrainingData.LoadAsync([backward], new SampleEncoder(fx.Tokenizer, 4096, 0), 0.25);

        Assert.Equal(a.Train.Select(e => e.Id), b.Train.Select(e => e.Id));
        Assert.Equal(a.Validation.Select(e => e.Id), b.Validation.Select(e => e.Id));
        Assert.Equal(a.Train.Select(e => e.Id).Order(StringComparer.Ordinal), a.Train.Select(e => e.Id));
        Assert.All(a.Train.Zip(b.Train), pair => Assert.Equal(pair.First.InputIds, pair.Second.InputIds));
    }
}
