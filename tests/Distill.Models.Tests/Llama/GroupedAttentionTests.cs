using Distill.Models.Llama;
using Distill.Models.Native;
using static TorchSharp.torch;

namespace Distill.Models.Tests.Llama;

public sealed class GroupedAttentionTests
{
    static GroupedAttentionTests() => TorchNative.EnsureLoaded();

    [Theory]
    [InlineData(1, 2)] // one decode step per row, two query heads per key/value head
    [InlineData(5, 4)] // a prefill of 5 tokens
    public void Folding_query_groups_equals_repeating_keys_and_values(long s, int groups)
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        long b = 3, kvHeads = 2, t = 7, d = 8;
        var q = randn(b, kvHeads * groups, s, d);
        var k = randn(b, kvHeads, t, d);
        var v = randn(b, kvHeads, t, d);
        // Causal over the last s positions, and row 0 has two left-padding keys.
        var allowed = ones(b, 1, s, t, dtype: ScalarType.Bool).tril(t - s);
        allowed[0, .., .., ..2] = tensor(false);

        var expected = ExplicitAttention(q, LlamaAttention.RepeatKv(k, groups), LlamaAttention.RepeatKv(v, groups), allowed);
        var actual = LlamaAttention.AttendGrouped(q, k, v, allowed, groups);

        Assert.Equal(expected.shape, actual.shape);
        Assert.True(actual.allclose(expected, rtol: 0, atol: 1e-6), $"max diff {(actual - expected).abs().max().item<float>()}");
    }

    [Fact]
    public void A_fully_masked_query_gives_zeros_not_nan()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var q = randn(1, 4, 3, 8);
        var k = randn(1, 2, 3, 8);
        var v = randn(1, 2, 3, 8);
        // Query 0 is left padding: it may attend to nothing (padding keys are masked for every query).
        var allowed = tensor(new[] { false, false, false, false, true, false, false, true, true }).view(1, 1, 3, 3);

        var actual = LlamaAttention.AttendGrouped(q, k, v, allowed, groups: 2);

        Assert.False(actual.isnan().any().item<bool>());
        Assert.Equal(0f, actual.narrow(2, 0, 1).abs().max().item<float>());
        var expected = ExplicitAttention(q, LlamaAttention.RepeatKv(k, 2), LlamaAttention.RepeatKv(v, 2), allowed).narrow(2, 1, 2);
        Assert.True(actual.narrow(2, 1, 2).allclose(expected, rtol: 0, atol: 1e-6));
    }

    /// <summary>softmax(q k^T / sqrt(d), masked) v written out, the reference for the fused kernel.</summary>
    static Tensor ExplicitAttention(Tensor q, Tensor k, Tensor v, Tensor allowed)
    {
        var scores = q.matmul(k.transpose(-2, -1)) / Math.Sqrt(q.shape[^1]);
        return scores.masked_fill(allowed.logical_not(), float.NegativeInfinity).softmax(-1).matmul(v);
    }
}
