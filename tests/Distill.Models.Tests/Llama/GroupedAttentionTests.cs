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

        var expected = LlamaAttention.Attend(q, LlamaAttention.RepeatKv(k, groups), LlamaAttention.RepeatKv(v, groups), allowed);
        var actual = LlamaAttention.AttendGrouped(q, k, v, allowed, groups);

        Assert.Equal(expected.shape, actual.shape);
        Assert.True(actual.allclose(expected, rtol: 0, atol: 1e-6), $"max diff {(actual - expected).abs().max().item<float>()}");
    }
}
