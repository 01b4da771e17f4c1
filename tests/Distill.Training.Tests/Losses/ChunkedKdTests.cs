using Distill.Training.Losses;
using static TorchSharp.torch;

namespace Distill.Training.Tests.Losses;

public class ChunkedKdTests : TorchTest
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(8)] // more chunks than positions
    public void Chunked_forward_kl_from_hidden_states_equals_the_unchunked_loss_and_its_gradients(int chunks)
    {
        // B = 2, T = 7, student H = 5, teacher H = 6, V = 11.
        var hs = randn(2, 7, 5).detach().requires_grad_(true);
        var ws = randn(11, 5).detach().requires_grad_(true);
        var ht = randn(2, 7, 6);
        var wt = randn(11, 6);
        var labels = L([1, 2, -100, 4, 5, 6, -100, -100, 0, 3, 3, 3, 10, -100], 2, 7);

        var full = KdLoss.ForwardKl(nn.functional.linear(hs, ws), nn.functional.linear(ht, wt), labels, temperature: 1.5);
        full.backward();
        var gh = hs.grad!.clone();
        var gw = ws.grad!.clone();
        hs.grad!.zero_();
        ws.grad!.zero_();

        var chunked = KdLoss.ChunkedForwardKl(hs, ws, ht, wt, labels, chunks, temperature: 1.5);
        chunked.backward();

        Assert.Equal(Item(full), Item(chunked), 5);
        Assert.Equal(0.0, Item(gh.sub(hs.grad!).abs().max()), 5);
        Assert.Equal(0.0, Item(gw.sub(ws.grad!).abs().max()), 5);
    }

    [Theory]
    [InlineData(DivergenceKind.ReverseKl)]
    [InlineData(DivergenceKind.GeneralizedJsd)]
    [InlineData(DivergenceKind.SkewKl)]
    public void Chunked_precomputed_logits_equal_the_unchunked_divergence(DivergenceKind kind)
    {
        var student = randn(3, 5, 9);
        var teacher = randn(3, 5, 9).to_type(ScalarType.BFloat16);
        var labels = L([1, 2, 3, 4, 5, -100, -100, 0, 0, 0, 8, 7, -100, 6, 5], 3, 5);
        var divergence = new Divergence(kind, Beta: 0.3, Alpha: 0.2);
        var full = KdLoss.FullDistribution(student, teacher, labels, divergence, temperature: 2);
        var chunked = KdLoss.Chunked(student, teacher, labels, numChunks: 2, divergence, temperature: 2);
        Assert.Equal(Item(full), Item(chunked), 5);
    }

    [Fact]
    public void Every_position_masked_gives_zero_and_backward_runs()
    {
        var hs = randn(1, 4, 3).detach().requires_grad_(true);
        var ws = randn(6, 3).detach().requires_grad_(true);
        var loss = KdLoss.ChunkedForwardKl(hs, ws, randn(1, 4, 3), randn(6, 3), full(1, 4, -100L), numChunks: 2);
        Assert.Equal(0.0, Item(loss));
        loss.backward();
        Assert.Equal(0.0, Item(hs.grad!.abs().sum()));
    }

    [Fact]
    public void Teacher_hidden_states_and_head_get_no_gradient()
    {
        var hs = randn(1, 4, 3).detach().requires_grad_(true);
        var ws = randn(6, 3).detach().requires_grad_(true);
        var ht = randn(1, 4, 3).detach().requires_grad_(true);
        var wt = randn(6, 3).detach().requires_grad_(true);
        KdLoss.ChunkedForwardKl(hs, ws, ht, wt, L([1, 2, 3, 4], 1, 4), numChunks: 2).backward();
        Assert.True(Item(hs.grad!.abs().sum()) > 0);
        Assert.True(ht.grad is null || Item(ht.grad.abs().sum()) == 0);
        Assert.True(wt.grad is null || Item(wt.grad.abs().sum()) == 0);
    }
}
