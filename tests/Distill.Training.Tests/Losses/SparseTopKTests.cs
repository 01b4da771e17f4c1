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

public class SparseTopKRestTests : TorchTest
{
    /// <summary>
    /// The rest bucket as it was first written: the student's rest mass as a logsumexp over a [N, V] copy of the
    /// log-probabilities with the stored ids masked out. Exact, and a full pass over the vocabulary; the reference here,
    /// computed in float64 so that the comparison measures the float32 code's own error.
    /// </summary>
    static Tensor ReferenceRestBucket(Tensor logits, Tensor ids, Tensor logprobs, Tensor labels)
    {
        var v = logits.shape[^1];
        var k = ids.shape[^1];
        var logq = logits.reshape(-1, v).to_type(ScalarType.Float64).log_softmax(-1);
        logprobs = logprobs.to_type(ScalarType.Float64);
        var id = ids.reshape(-1, k);
        var valid = id.ge(0);
        var safe = id.masked_fill(valid.logical_not(), 0);
        var logp = logprobs.reshape(-1, k).masked_fill(valid.logical_not(), float.NegativeInfinity);
        var p = logp.exp();
        var logqK = logq.gather(-1, safe);
        var head = p.mul(logp.masked_fill(valid.logical_not(), 0).sub(logqK)).masked_fill(valid.logical_not(), 0).sum(-1);
        var restP = p.sum(-1).neg().add(1);
        var inTopK = zeros_like(logq).scatter_add(-1, safe, valid.to_type(ScalarType.Float64)).gt(0);
        var restQ = logq.masked_fill(inTopK, float.NegativeInfinity).logsumexp(-1, false);
        var perToken = head.add(restP.mul(restP.log().sub(restQ)));
        var keep = labels.reshape(-1).ne(-100).to_type(ScalarType.Float64);
        return perToken.mul(keep).sum().div(keep.sum());
    }

    /// <summary>Student logits [N, V], K distinct random ids per row (some missing), teacher log-probs with a real tail.</summary>
    /// <summary>|actual - expected| within 1e-5 relative (1e-5 absolute below 1).</summary>
    static void Close(Tensor expected, Tensor actual)
    {
        var (e, a) = (Item(expected), Item(actual));
        Assert.True(Math.Abs(e - a) <= 1e-5 * Math.Max(1, Math.Abs(e)), $"expected {e}, got {a}");
    }

    static (Tensor Logits, Tensor Ids, Tensor Logprobs, Tensor Labels) Random(long n, long v, long k, double boost)
    {
        var logits = randn(n, v).mul(3);
        var ids = rand(n, v).argsort(-1).narrow(1, 0, k).contiguous();
        // A large boost puts nearly all the student's mass on the stored ids, so 1 - sum q_k cancels (the exact path).
        logits.scatter_add_(-1, ids, full(n, k, (float)boost));
        var teacher = randn(n, v).mul(2).log_softmax(-1).gather(-1, ids);
        ids[0, 1] = tensor(-1L);
        var labels = randint(0, v, [n]);
        labels[2] = tensor(-100L);
        return (logits, ids, teacher, labels);
    }

    [Theory]
    [InlineData(0.0)]  // student rest mass of order 0.9: the gathered-probability path
    [InlineData(6.5)]  // student rest mass of order 2e-2: the gathered-probability path just above the exact threshold
    [InlineData(12.0)] // student rest mass of order 1e-4: the exact-complement path
    public void Rest_bucket_from_the_gathered_probabilities_equals_the_exact_complement_with_its_gradients(double boost)
    {
        var (logits, ids, logprobs, labels) = Random(16, 300, 20, boost);
        var x = logits.detach().requires_grad_(true);
        var reference = ReferenceRestBucket(x, ids, logprobs, labels);
        reference.backward();
        var referenceGrad = x.grad!.clone();
        x.grad!.zero_();
        var fast = KdLoss.SparseTopK(x, ids, logprobs, labels);
        fast.backward();

        Close(reference, fast);
        // Just above the threshold the gathered path's gradient is off by up to ~1e-5 of its largest entry (float32 rounding of
        // the log-normalizer divided by a rest mass near 1e-2); the old [N, V] formula in float32 was within ~1e-6.
        var gradError = Item(x.grad!.sub(referenceGrad).abs().max());
        Assert.True(gradError < 1e-6, $"gradient off by {gradError}");
    }

    [Fact]
    public void Rows_on_both_sides_of_the_exact_threshold_in_one_batch_match_the_reference()
    {
        var (a, ida, lpa, la) = Random(8, 100, 5, 0.0);
        var (b, idb, lpb, lb) = Random(8, 100, 5, 14.0);
        var x = cat([a, b], 0).detach().requires_grad_(true);
        var ids = cat([ida, idb], 0);
        var logprobs = cat([lpa, lpb], 0);
        var labels = cat([la, lb], 0);
        var reference = ReferenceRestBucket(x, ids, logprobs, labels);
        reference.backward();
        var referenceGrad = x.grad!.clone();
        x.grad!.zero_();
        var fast = KdLoss.SparseTopK(x, ids, logprobs, labels);
        fast.backward();
        Close(reference, fast);
        // Just above the threshold the gathered path's gradient is off by up to ~1e-5 of its largest entry (float32 rounding of
        // the log-normalizer divided by a rest mass near 1e-2); the old [N, V] formula in float32 was within ~1e-6.
        var gradError = Item(x.grad!.sub(referenceGrad).abs().max());
        Assert.True(gradError < 1e-6, $"gradient off by {gradError}");
    }

    [Fact]
    public void Gradient_matches_central_finite_differences()
    {
        // Float64 reference arithmetic on the hand example: d loss / d logit_j by (L(z + e) - L(z - e)) / 2e.
        float[] z = [0.3f, -1.2f, 2.0f, 0.7f, -0.4f, 1.1f];
        long[] idData = [2, 0, 5];
        double[] p = [0.45, 0.2, 0.15];
        double Loss(double[] logits)
        {
            var q = Ref.Softmax(logits);
            var restQ = 1 - idData.Sum(i => q[i]);
            return idData.Select((id, j) => p[j] * Math.Log(p[j] / q[id])).Sum() + 0.2 * Math.Log(0.2 / restQ);
        }
        var x = F(z, [1, 6], grad: true);
        KdLoss.SparseTopK(x, L(idData, 1, 3), F(p.Select(v => (float)Math.Log(v)).ToArray(), [1, 3]), L([0], 1)).backward();
        var analytic = x.grad!.data<float>().ToArray();
        const double eps = 1e-5;
        for (var j = 0; j < z.Length; j++)
        {
            var plus = z.Select(v => (double)v).ToArray();
            var minus = z.Select(v => (double)v).ToArray();
            plus[j] += eps;
            minus[j] -= eps;
            Assert.Equal((Loss(plus) - Loss(minus)) / (2 * eps), analytic[j], 5);
        }
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(2.0)]
    public void Kd_and_ce_with_one_log_softmax_equal_the_two_separate_losses_combined(double temperature)
    {
        var (logits, ids, logprobs, labels) = Random(12, 50, 6, 1.0);
        var x = logits.detach().requires_grad_(true);
        var separate = KdLoss.Combine(KdLoss.SparseTopK(x, ids, logprobs, labels, temperature), KdLoss.CrossEntropy(x, labels), 0.3);
        separate.backward();
        var separateGrad = x.grad!.clone();
        x.grad!.zero_();
        var shared = KdLoss.SparseTopKWithCe(x, ids, logprobs, labels, 0.3, temperature);
        shared.Total.backward();

        Assert.Equal(Item(separate), Item(shared.Total), 5);
        Assert.Equal(Item(KdLoss.SparseTopK(logits, ids, logprobs, labels, temperature)), Item(shared.Kd), 5);
        Assert.Equal(Item(KdLoss.CrossEntropy(logits, labels)), Item(shared.Ce), 5);
        Assert.True(Item(x.grad!.sub(separateGrad).abs().max()) < 1e-6);
    }

    [Fact]
    public void Kd_and_ce_on_the_hand_example()
    {
        // Student logits [0, 1, 2, -1], label 1, teacher {0: 0.5, 2: 0.3}: kd = 0.58513 (see SparseTopKTests),
        // ce = -ln q1 = -ln 0.23688282 = 1.44019; alpha 0.25 gives 0.25 * kd + 0.75 * ce.
        var q = Ref.Softmax([0, 1, 2, -1]);
        var kd = 0.5 * Math.Log(0.5 / q[0]) + 0.3 * Math.Log(0.3 / q[2]) + 0.2 * Math.Log(0.2 / (q[1] + q[3]));
        var ce = -Math.Log(q[1]);
        Assert.Equal(1.44019, ce, 5);
        var loss = KdLoss.SparseTopKWithCe(F([0f, 1f, 2f, -1f], [1, 4]), L([0, 2], 1, 2),
            F([(float)Math.Log(0.5), (float)Math.Log(0.3)], [1, 2]), L([1], 1), alpha: 0.25);
        Assert.Equal(0.25 * kd + 0.75 * ce, Item(loss.Total), 5);
        Assert.Equal(kd, Item(loss.Kd), 5);
        Assert.Equal(ce, Item(loss.Ce), 5);
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
