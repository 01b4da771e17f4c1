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

public class FusedChunkedKdTests : TorchTest
{
    [Fact]
    public void A_frozen_lm_head_gets_no_gradient_and_the_hidden_states_still_do()
    {
        var hs = randn(2, 5, 4).detach().requires_grad_(true);
        var ws = randn(9, 4);
        var ht = randn(2, 5, 3);
        var wt = randn(9, 3);
        var labels = L([1, 2, 3, 4, -100, 0, 0, 0, 0, 0], 2, 5);
        var full = KdLoss.ForwardKl(nn.functional.linear(hs, ws), nn.functional.linear(ht, wt), labels);
        full.backward();
        var expected = hs.grad!.clone();
        hs.grad!.zero_();
        var chunked = KdLoss.Chunked(hs, ws, ht, wt, labels, numChunks: 2, Divergence.ForwardKl);
        chunked.backward();
        Assert.Equal(Item(full), Item(chunked), 5);
        Assert.Equal(0.0, Item(expected.sub(hs.grad!).abs().max()), 5);
        Assert.Null(ws.grad);
    }

    [Fact]
    public void Under_no_grad_the_value_is_the_same_and_no_graph_is_built()
    {
        var hs = randn(1, 6, 4).detach().requires_grad_(true);
        var ws = randn(9, 4).detach().requires_grad_(true);
        var ht = randn(1, 6, 4);
        var wt = randn(9, 4);
        var labels = L([1, 2, 3, 4, 5, 6], 1, 6);
        var withGrad = Item(KdLoss.Chunked(hs, ws, ht, wt, labels, 3, Divergence.Jsd(0.5), temperature: 2));
        using (no_grad())
        {
            var loss = KdLoss.Chunked(hs, ws, ht, wt, labels, 3, Divergence.Jsd(0.5), temperature: 2);
            Assert.False(loss.requires_grad);
            Assert.Equal(withGrad, Item(loss), 6);
        }
    }

    [Fact]
    public void Combined_with_cross_entropy_the_fused_loss_backpropagates_through_the_student_graph()
    {
        // hidden = x A (a stand-in for the decoder), so the fused loss's gradient must flow on into A.
        var a = randn(3, 4).detach().requires_grad_(true);
        var x = randn(2, 5, 3);
        var ws = randn(9, 4).detach().requires_grad_(true);
        var ht = randn(2, 5, 4);
        var wt = randn(9, 4);
        var labels = L([1, 2, 3, 4, -100, 0, 8, 7, 6, 5], 2, 5);

        var hidden = x.matmul(a);
        var logits = nn.functional.linear(hidden, ws);
        KdLoss.Combine(KdLoss.ForwardKl(logits, nn.functional.linear(ht, wt), labels, 2), KdLoss.CrossEntropy(logits, labels), 0.7).backward();
        var (ga, gw) = (a.grad!.clone(), ws.grad!.clone());
        a.grad!.zero_();
        ws.grad!.zero_();

        hidden = x.matmul(a);
        var kd = KdLoss.ChunkedForwardKl(hidden, ws, ht, wt, labels, numChunks: 3, temperature: 2);
        KdLoss.Combine(kd, KdLoss.CrossEntropy(nn.functional.linear(hidden, ws), labels), 0.7).backward();

        Assert.Equal(0.0, Item(ga.sub(a.grad!).abs().max()), 5);
        Assert.Equal(0.0, Item(gw.sub(ws.grad!).abs().max()), 5);
    }

    [Theory]
    [InlineData(1, 1.0, 0.7, "jsd")]
    [InlineData(3, 2.0, 0.7, "jsd")]
    // Forward KL takes the closed-form gradient (FusedChunkedKdFunction.ForwardKlChunk): every branch of it.
    [InlineData(1, 1.0, 0.7, "forward_kl")]
    [InlineData(3, 2.0, 0.7, "forward_kl")]
    [InlineData(2, 1.0, 0.0, "forward_kl")]
    [InlineData(2, 0.5, 1.0, "forward_kl")]
    [InlineData(2, 1.0, 1.0, "forward_kl")]
    public void Chunked_kd_with_ce_equals_the_combined_unfused_losses_and_their_gradients(int chunks, double temperature, double alpha, string kind)
    {
        // B = 2, T = 5, student H = 4, teacher H = 6, V = 9.
        var hs = randn(2, 5, 4).detach().requires_grad_(true);
        var ws = randn(9, 4).detach().requires_grad_(true);
        var ht = randn(2, 5, 6);
        var wt = randn(9, 6);
        var labels = L([1, 2, 3, -100, 4, -100, 8, 7, 6, 5], 2, 5);
        var divergence = kind == "jsd" ? Divergence.Jsd(0.3) : Divergence.ForwardKl;

        var logits = nn.functional.linear(hs, ws);
        var kd = KdLoss.FullDistribution(logits, nn.functional.linear(ht, wt), labels, divergence, temperature);
        var ce = KdLoss.CrossEntropy(logits, labels);
        KdLoss.Combine(kd, ce, alpha).backward();
        var (gh, gw) = (hs.grad!.clone(), ws.grad!.clone());
        hs.grad!.zero_();
        ws.grad!.zero_();

        var fused = KdLoss.ChunkedWithCe(hs, ws, ht, wt, labels, alpha, chunks, divergence, temperature);
        fused.Total.backward();

        Assert.Equal(Item(KdLoss.Combine(kd, ce, alpha)), Item(fused.Total), tolerance: 1e-5);
        Assert.Equal(Item(kd), Item(fused.Kd), tolerance: 1e-5);
        Assert.Equal(Item(ce), Item(fused.Ce), tolerance: 1e-5);
        Assert.Equal(0.0, Item(gh.sub(hs.grad!).abs().max()), 5);
        Assert.Equal(0.0, Item(gw.sub(ws.grad!).abs().max()), 5);
    }

    [Fact]
    public void At_a_realistic_vocabulary_and_logit_scale_the_closed_form_at_t1_keeps_float32_accuracy()
    {
        // The closed-form gradient at a vocabulary and logit scale nearer a real model's than the V = 9 cases: V = 4,096, logits
        // with a standard deviation near 3, 96 labelled rows, 2 chunks; value and gradients within float32 accuracy of autograd's.
        var hs = randn(2, 48, 16).detach().requires_grad_(true);
        var ws = randn(4096, 16).mul(0.7).detach().requires_grad_(true);
        var ht = randn(2, 48, 8);
        var wt = randn(4096, 8);
        var labels = randint(0, 4096, [2, 48]);

        var logits = nn.functional.linear(hs, ws);
        var kd = KdLoss.FullDistribution(logits, nn.functional.linear(ht, wt), labels, Divergence.ForwardKl, 1.0);
        var ce = KdLoss.CrossEntropy(logits, labels);
        KdLoss.Combine(kd, ce, 0.5).backward();
        var (gh, gw) = (hs.grad!.clone(), ws.grad!.clone());
        hs.grad!.zero_();
        ws.grad!.zero_();

        var fused = KdLoss.ChunkedWithCe(hs, ws, ht, wt, labels, 0.5, 2, Divergence.ForwardKl, 1.0);
        fused.Total.backward();

        Assert.True(Item(kd) > 1, "a KD term that is not near zero");
        Assert.Equal(1.0, Item(fused.Kd) / Item(kd), tolerance: 1e-5);
        Assert.Equal(1.0, Item(fused.Ce) / Item(ce), tolerance: 1e-5);
        Assert.True(Item(gh.sub(hs.grad!).abs().max()) < 1e-5 * Item(gh.abs().max()) + 1e-7);
        Assert.True(Item(gw.sub(ws.grad!).abs().max()) < 1e-5 * Item(gw.abs().max()) + 1e-7);
    }

    [Fact]
    public void With_a_shared_vocabulary_kd_compares_the_first_rows_of_both_heads_and_ce_scores_the_whole_student_head()
    {
        // A student head of 10 rows and a teacher head of 12 rows that share their first 8 (one tokenizer, padded differently).
        var hs = randn(1, 4, 3).detach().requires_grad_(true);
        var ws = randn(10, 3).detach().requires_grad_(true);
        var ht = randn(1, 4, 5);
        var wt = randn(12, 5);
        var labels = L([2, 7, -100, 9], 1, 4);

        var logits = nn.functional.linear(hs, ws);
        var kd = KdLoss.FullDistribution(logits.narrow(-1, 0, 8), nn.functional.linear(ht, wt).narrow(-1, 0, 8), labels, Divergence.ForwardKl);
        var expected = KdLoss.Combine(kd, KdLoss.CrossEntropy(logits, labels), 0.5);
        expected.backward();
        var gw = ws.grad!.clone();
        ws.grad!.zero_();

        var fused = KdLoss.ChunkedWithCe(hs, ws, ht, wt, labels, alpha: 0.5, numChunks: 2, sharedVocab: 8);
        fused.Total.backward();

        Assert.Equal(Item(expected), Item(fused.Total), tolerance: 1e-5);
        Assert.Equal(0.0, Item(gw.sub(ws.grad!).abs().max()), 5);
        Assert.Throws<ArgumentException>(() => KdLoss.ChunkedWithCe(hs, ws, ht, wt, labels, alpha: 0.5, sharedVocab: 11));
    }
}
