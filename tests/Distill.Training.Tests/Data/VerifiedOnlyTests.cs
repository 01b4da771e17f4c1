using Distill.Core.Errors;
using Distill.Training.Data;

namespace Distill.Training.Tests.Data;

[Collection(TrainingCollection.Name)]
public class VerifiedOnlyTests(TrainingFixture fx)
{
    private SampleEncoder Encoder() => new(fx.Tokenizer, 4096, 0);

    [Fact]
    public async Task Verified_only_leaves_out_failed_and_unjudged_samples()
    {
        var dir = fx.NewDir("verified");
        // 0, 3, 6, ... passed; 1, 4, ... failed; 2, 5, ... have no verdict.
        TrainingFixture.WriteDataset(dir, fx.Samples.Take(12).Select((s, i) => s with { Verified = (i % 3) switch { 0 => true, 1 => false, _ => null } }));

        var all = await TrainingData.LoadAsync([dir], Encoder(), 0);
        var verified = await TrainingData.LoadAsync([dir], Encoder(), 0, verifiedOnly: true);

        Assert.Equal(12, all.Statistics.Samples);
        Assert.Equal(4, verified.Statistics.Samples);
        Assert.Equal(8, verified.SkippedUnverified);
    }

    [Fact]
    public async Task Verified_only_with_nothing_verified_says_what_to_do()
    {
        var dir = fx.NewDir("unverified");
        TrainingFixture.WriteDataset(dir, fx.Samples.Take(3).Select(s => s with { Verified = false }));

        var error = await Assert.ThrowsAsync<DistillException>(() => TrainingData.LoadAsync([dir], Encoder(), 0, verifiedOnly: true));
        Assert.Contains("none of the 3 samples passed verification", error.Message, StringComparison.Ordinal);
    }
}
