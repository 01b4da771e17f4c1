using Distill.Training.Losses;
using static TorchSharp.torch;

namespace Distill.Training.Tests.Losses;

public class CrossEntropyTests : TorchTest
{
    [Fact]
    public void Cross_entropy_equals_the_hand_computed_mean_over_tokens()
    {
        // 2 tokens x 3 vocab.
        // row 0 logits [1, 2, 3], label 2: logsumexp = ln(e + e^2 + e^3) = ln(30.1928) = 3.40760596; nll = 3.40760596 - 3 = 0.40760596
        // row 1 logits [1, 0, -1], label 1: logsumexp = ln(e + 1 + e^-1) = ln(4.08616127) = 1.40760596; nll = 1.40760596 - 0 = 1.40760596
        // mean = (0.40760596 + 1.40760596) / 2 = 0.90760596
        var logits = F([1, 2, 3, 1, 0, -1], [1, 2, 3]);
        var labels = L([2, 1], 1, 2);
        var expected = (Math.Log(Math.E + Math.Exp(2) + Math.Exp(3)) - 3 + Math.Log(Math.E + 1 + Math.Exp(-1)) - 0) / 2;
        Assert.Equal(0.90760596, expected, 6);
        Assert.Equal(expected, Item(KdLoss.CrossEntropy(logits, labels)), 5);
    }

    [Fact]
    public void Cross_entropy_ignores_positions_labelled_minus_100()
    {
        // Same two tokens as above plus a third, masked token with extreme logits: the mean is unchanged.
        var logits = F([1, 2, 3, 1, 0, -1, 50, -50, 0], [3, 3]);
        var labels = L([2, 1, -100], 3);
        Assert.Equal(0.90760596, Item(KdLoss.CrossEntropy(logits, labels)), 5);
    }

    [Fact]
    public void Cross_entropy_upcasts_half_precision_logits()
    {
        var logits = F([1, 2, 3, 1, 0, -1], [2, 3]).to_type(ScalarType.BFloat16);
        var loss = KdLoss.CrossEntropy(logits, L([2, 1], 2));
        Assert.Equal(ScalarType.Float32, loss.dtype);
        Assert.Equal(0.90760596, Item(loss), 5); // these logits are exact in bf16
    }

    [Fact]
    public void Cross_entropy_with_every_position_masked_is_zero_and_backward_works()
    {
        var logits = F([1, 2, 3, 1, 0, -1], [1, 2, 3], grad: true);
        var loss = KdLoss.CrossEntropy(logits, L([-100, -100], 1, 2));
        Assert.Equal(0.0, Item(loss));
        loss.backward();
        Assert.NotNull(logits.grad);
        Assert.Equal(0.0, Item(logits.grad!.abs().sum()));
    }

    [Fact]
    public void Combine_is_alpha_times_kd_plus_one_minus_alpha_times_ce()
    {
        // 0.25 * 2 + 0.75 * 4 = 3.5
        Assert.Equal(3.5, Item(KdLoss.Combine(tensor(2f), tensor(4f), 0.25)), 6);
        Assert.Throws<ArgumentOutOfRangeException>(() => KdLoss.Combine(tensor(2f), tensor(4f), 1.5));
    }

    [Fact]
    public void Step_by_step_is_label_loss_plus_lambda_times_rationale_loss()
    {
        // label task: the 2-token example above, CE = 0.90760596
        // rationale task: 1 token, logits [0, 0, 0], label 0: CE = ln 3 = 1.09861229
        // L = 0.90760596 + 0.5 * 1.09861229 = 1.45691211
        var loss = KdLoss.StepByStep(F([1, 2, 3, 1, 0, -1], [1, 2, 3]), L([2, 1], 1, 2), F([0, 0, 0], [1, 1, 3]), L([0], 1, 1), lambda: 0.5);
        Assert.Equal(0.90760596 + 0.5 * Math.Log(3), Item(loss), 5);
    }
}
