using Distill.Training.Losses;
using static TorchSharp.torch;

namespace Distill.Training.Tests.Losses;

public class SparseTopKTests : TorchTest
{
    // One token, vocabulary of 4. Student logits [0, 1, 2, -1]; the teacher stored K = 2 entries:
    // id 0 with p = 0.5 and id 2 with p = 0.3, so the teacher's tail mass is 1 - 0.8 = 0.2.
    static readonly float[] StudentRow = [0f, 1f, 2f, -1f];
    static Tensor Student(bool grad = false) => F(StudentRow, [1, 1, 4], grad);
    static Tensor Ids => L([0, 2], 1, 1, 2);
    static Tensor Logprobs => F([(float)Math.Log(0.5), (float)Math.Log(0.3)], [1, 1, 2]);
    static Tensor Kept => L([1], 1, 1);

    [Fact]
    public void Rest_bucket_loss_equals_the_hand_computed_kl_over_k_plus_one_outcomes()
    {
        // q = softmax([0, 1, 2, -1]) = [0.08714432, 0.23688282, 0.64391426, 0.03205860]
        // student rest mass = q1 + q3 = 0.26894142
        // KL = 0.5 ln(0.5 / 0.08714432) + 0.3 ln(0.3 / 0.64391426) + 0.2 ln(0.2 / 0.26894142)
        //    = 0.5 * 1.74703 + 0.3 * (-0.76379) + 0.2 * (-0.29618) = 0.58513
        var q = Ref.Softmax(StudentRow.Select(x => (double)x).ToArray());
        Assert.Equal(0.08714432, q[0], 6);
        var expected = 0.5 * Math.Log(0.5 / q[0]) + 0.3 * Math.Log(0.3 / q[2]) + 0.2 * Math.Log(0.2 / (q[1] + q[3]));
        Assert.Equal(expected, Item(KdLoss.SparseTopK(Student(), Ids, Logprobs, Kept)), 5);
    }

    [Fact]
    public void Renormalized_mode_is_kl_between_the_distributions_restricted_to_the_stored_ids()
    {
        // p' = [0.5, 0.3] / 0.8 = [0.625, 0.375]; q' = [q0, q2] / (q0 + q2)
        var q = Ref.Softmax(StudentRow.Select(x => (double)x).ToArray());
        var qs = q[0] + q[2];
        var expected = Ref.Kl([0.625, 0.375], [q[0] / qs, q[2] / qs]);
        Assert.Equal(expected, Item(KdLoss.SparseTopK(Student(), Ids, Logprobs, Kept, tail: TailMode.Renormalize)), 5);
    }

    [Fact]
    public void Temperature_softens_the_student_only_and_scales_by_T_squared()
    {
        // q = softmax(student / 2); the stored teacher probabilities are used as they are.
        var q = Ref.Softmax(StudentRow.Select(x => (double)x).ToArray(), temperature: 2);
        var expected = 4 * (0.5 * Math.Log(0.5 / q[0]) + 0.3 * Math.Log(0.3 / q[2]) + 0.2 * Math.Log(0.2 / (q[1] + q[3])));
        Assert.Equal(expected, Item(KdLoss.SparseTopK(Student(), Ids, Logprobs, Kept, temperature: 2)), 5);
    }

    [Fact]
    public void Missing_ids_marked_minus_one_are_ignored()
    {
        var ids = L([0, -1, 2], 1, 1, 3);
        var logprobs = F([(float)Math.Log(0.5), 123f, (float)Math.Log(0.3)], [1, 1, 3]);
        var withMissing = KdLoss.SparseTopK(Student(), ids, logprobs, Kept);
        Assert.Equal(Item(KdLoss.SparseTopK(Student(), Ids, Logprobs, Kept)), Item(withMissing), 6);
    }

    [Theory]
    [InlineData(TailMode.RestBucket)]
    [InlineData(TailMode.Renormalize)]
    public void Sparse_kd_equals_full_forward_kl_when_k_equals_the_vocabulary(TailMode tail)
    {
        // B = 2, T = 3, V = 5; the teacher "stored" every id, in a shuffled order.
        var student = randn(2, 3, 5).detach().requires_grad_(true);
        var teacher = randn(2, 3, 5);
        var labels = L([1, 2, -100, 4, 0, 3], 2, 3);
        var order = L([2, 0, 4, 1, 3], 5).expand(2, 3, 5).contiguous();
        var logprobs = teacher.log_softmax(-1).gather(-1, order);

        var sparse = KdLoss.SparseTopK(student, order, logprobs, labels, tail: tail);
        sparse.backward();
        var sparseGrad = student.grad!.clone();
        student.grad!.zero_();
        var full = KdLoss.ForwardKl(student, teacher, labels);
        full.backward();

        Assert.Equal(Item(full), Item(sparse), 5);
        Assert.True(Item(full) > 0);
        Assert.Equal(0.0, Item(sparseGrad.sub(student.grad!).abs().max()), 5);
    }

    [Fact]
    public void Masked_positions_and_positions_without_ids_are_skipped()
    {
        // Token 0 is the hand example; token 1 is masked by its label; token 2 has no stored ids.
        var student = F([.. StudentRow, 5, 5, 5, 5, 1, 2, 3, 4], [1, 3, 4]);
        var ids = L([0, 2, 1, 3, -1, -1], 1, 3, 2);
        var logprobs = F([(float)Math.Log(0.5), (float)Math.Log(0.3), -0.1f, -3f, 0f, 0f], [1, 3, 2]);
        var labels = L([1, -100, 1], 1, 3);
        var loss = KdLoss.SparseTopK(student, ids, logprobs, labels);
        Assert.Equal(Item(KdLoss.SparseTopK(Student(), Ids, Logprobs, Kept)), Item(loss), 6);
    }

    [Theory]
    [InlineData(TailMode.RestBucket)]
    [InlineData(TailMode.Renormalize)]
    public void Every_position_masked_gives_zero_and_backward_gives_finite_zero_gradients(TailMode tail)
    {
        var student = Student(grad: true);
        var loss = KdLoss.SparseTopK(student, L([-1, -1], 1, 1, 2), Logprobs, L([-100], 1, 1), tail: tail);
        Assert.Equal(0.0, Item(loss));
        loss.backward();
        Assert.Equal(0.0, Item(student.grad!.abs().sum()));
    }

    [Fact]
    public void Gradients_reach_the_student_only()
    {
        var student = Student(grad: true);
        var logprobs = Logprobs.detach().requires_grad_(true);
        KdLoss.SparseTopK(student, Ids, logprobs, Kept).backward();
        Assert.True(Item(student.grad!.abs().sum()) > 0);
        Assert.True(logprobs.grad is null || Item(logprobs.grad.abs().sum()) == 0);
    }
}

public class TokenizerGuardTests
{
    [Fact]
    public void Sparse_kd_refuses_a_teacher_with_another_or_an_unknown_tokenizer()
    {
        KdLoss.RequireSameTokenizer("llama-3", "llama-3");
        var other = Assert.Throws<Distill.Core.Errors.DistillException>(() => KdLoss.RequireSameTokenizer("o200k_base", "llama-3"));
        Assert.Contains("o200k_base", other.Message);
        Assert.NotNull(other.Hint);
        Assert.Throws<Distill.Core.Errors.DistillException>(() => KdLoss.RequireSameTokenizer(null, "llama-3"));
    }
}
