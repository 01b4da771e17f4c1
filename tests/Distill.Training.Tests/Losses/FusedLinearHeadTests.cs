using Distill.Training.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace Distill.Training.Tests.Losses;

public class FusedLinearHeadTests : TorchTest
{
    // B = 2, T = 7, H = 5, V = 11; four positions are unlabelled.
    static Tensor Labels => L([1, 2, -100, 4, 5, 6, -100, -100, 0, 3, 3, 3, 10, -100], 2, 7);

    [Theory]
    [InlineData(0)] // default chunk (everything in one)
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(100)]
    public void Linear_cross_entropy_equals_cross_entropy_of_the_projected_logits_and_its_gradients(int chunkRows)
    {
        var h = randn(2, 7, 5).detach().requires_grad_(true);
        var w = randn(11, 5).detach().requires_grad_(true);
        var full = KdLoss.CrossEntropy(nn.functional.linear(h, w), Labels);
        full.backward();
        var (gh, gw) = (h.grad!.clone(), w.grad!.clone());
        h.grad!.zero_();
        w.grad!.zero_();

        var fused = KdLoss.LinearCrossEntropy(h, w, Labels, chunkRows: chunkRows);
        fused.backward();

        Assert.Equal(Item(full), Item(fused), 5);
        Assert.True(Item(h.grad!.sub(gh).abs().max()) < 1e-6);
        Assert.True(Item(w.grad!.sub(gw).abs().max()) < 1e-6);
        Assert.Equal(0.0, Item(h.grad![0, 2].abs().sum())); // an unlabelled position gets no gradient
    }

    [Theory]
    [InlineData(1.0, 2)]
    [InlineData(2.0, 5)]
    public void Linear_sparse_kd_with_ce_equals_the_unfused_loss_and_its_gradients(double temperature, int chunkRows)
    {
        var h = randn(2, 7, 5).detach().requires_grad_(true);
        var w = randn(11, 5).mul(2).detach().requires_grad_(true);
        var ids = rand(2, 7, 11).argsort(-1).narrow(2, 0, 4).contiguous();
        ids[1, 0, 2] = tensor(-1L);
        ids[0, 3] = torch.full(4, -1L); // a labelled position with no stored ids: CE only
        var logprobs = randn(2, 7, 11).log_softmax(-1).gather(-1, ids.clamp_min(0));

        var full = KdLoss.SparseTopKWithCe(nn.functional.linear(h, w), ids, logprobs, Labels, 0.6, temperature);
        full.Total.backward();
        var (gh, gw) = (h.grad!.clone(), w.grad!.clone());
        h.grad!.zero_();
        w.grad!.zero_();

        var fused = KdLoss.LinearSparseTopKWithCe(h, w, ids, logprobs, Labels, 0.6, temperature, chunkRows: chunkRows);
        fused.Total.backward();

        Assert.Equal(Item(full.Total), Item(fused.Total), 5);
        Assert.Equal(Item(full.Kd), Item(fused.Kd), 5);
        Assert.Equal(Item(full.Ce), Item(fused.Ce), 5);
        Assert.True(Item(h.grad!.sub(gh).abs().max()) < 1e-6);
        Assert.True(Item(w.grad!.sub(gw).abs().max()) < 1e-6);
    }

    [Fact]
    public void Every_position_unlabelled_gives_zero_and_zero_gradients()
    {
        var h = randn(1, 4, 3).detach().requires_grad_(true);
        var w = randn(6, 3).detach().requires_grad_(true);
        var loss = KdLoss.LinearCrossEntropy(h, w, full(1, 4, -100L));
        Assert.Equal(0.0, Item(loss));
        loss.backward();
        Assert.Equal(0.0, Item(h.grad!.abs().sum()));
        Assert.Equal(0.0, Item(w.grad!.abs().sum()));
    }

    [Fact]
    public void A_frozen_head_gets_no_gradient_and_no_grad_mode_computes_the_value_only()
    {
        var h = randn(1, 4, 3).detach().requires_grad_(true);
        var w = randn(6, 3);
        var labels = L([1, 2, 3, 4], 1, 4);
        KdLoss.LinearCrossEntropy(h, w, labels).backward();
        Assert.True(Item(h.grad!.abs().sum()) > 0);
        Assert.Null(w.grad);
        using (no_grad())
        {
            var value = KdLoss.LinearCrossEntropy(h, w, labels);
            Assert.False(value.requires_grad);
            Assert.Equal(Item(KdLoss.CrossEntropy(nn.functional.linear(h, w), labels)), Item(value), 5);
        }
    }
}
