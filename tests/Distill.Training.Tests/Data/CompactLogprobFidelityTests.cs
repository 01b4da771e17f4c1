using Distill.Data;
using Distill.Data.Synthetic;
using Distill.Training.Data;

namespace Distill.Training.Tests.Data;

/// <summary>
/// What the compact dataset format's float16 logprobs (schema 4: gap-coded, zstd) do to the distribution KD trains on: the
/// trainer's top-k distribution from a row read back from a shard against the same row before it was written.
/// </summary>
public class CompactLogprobFidelityTests
{
    [Theory]
    [InlineData(1.0)] // KD at the teacher's temperature: the stored values are used as they are
    [InlineData(0.5)] // KD at temperature 2: logprobs halved and renormalized over the kept ids
    [InlineData(2.0)] // KD at temperature 0.5
    public async Task The_rescaled_top_k_distribution_of_a_round_tripped_row_is_within_1e_3_of_the_original(double factor)
    {
        var dir = Directory.CreateTempSubdirectory("distill-fidelity-").FullName;
        try
        {
            var written = SyntheticSamples.ToolTraces(12, seed: 11, logprobsTopK: 20).ToList();
            await using (var writer = await DatasetWriter.OpenAsync(dir))
                foreach (var s in written) await writer.AppendAsync(s);
            var read = await DatasetReader.Open(dir).ReadSamplesAsync().ToListAsync();

            double worst = 0, worstSum = 0;
            int positions = 0;
            for (int r = 0; r < written.Count; r++)
                for (int m = 0; m < written[r].Messages.Count; m++)
                    for (int t = 0; t < written[r].Messages[m].Logprobs.Count; t++)
                    {
                        var before = written[r].Messages[m].Logprobs[t].Top;
                        var after = read[r].Messages[m].Logprobs[t].Top;
                        Assert.Equal(before.Select(x => x.TokenId), after.Select(x => x.TokenId));
                        var p = Distribution(before.Select(x => (float)x.Logprob).ToArray(), factor);
                        var q = Distribution(after.Select(x => (float)x.Logprob).ToArray(), factor);
                        double sum = 0;
                        for (int k = 0; k < p.Length; k++)
                        {
                            worst = Math.Max(worst, Math.Abs(p[k] - q[k]));
                            sum += Math.Abs(p[k] - q[k]);
                        }
                        worstSum = Math.Max(worstSum, sum);
                        positions++;
                    }
            Assert.True(positions > 2000, $"only {positions} positions compared");
            // Float16 keeps each logprob within 2^-11 of its size; at the top, where the probability is, that is < 2.5e-4 nats.
            Assert.True(worst <= 1e-3, $"largest probability change {worst:E2} at factor {factor}");
            Assert.True(worstSum <= 2e-3, $"largest summed probability change (twice the total variation) {worstSum:E2} at factor {factor}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Probabilities as the trainer builds them: rescaled by <see cref="StoredLogprobRescale.Apply"/> unless the factor is 1.</summary>
    private static double[] Distribution(float[] logprobs, double factor)
    {
        if (factor != 1.0) StoredLogprobRescale.Apply(logprobs, factor);
        return logprobs.Select(x => Math.Exp(x)).ToArray();
    }
}
