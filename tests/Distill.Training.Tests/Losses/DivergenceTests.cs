using Distill.Training.Losses;
using static TorchSharp.torch;

namespace Distill.Training.Tests.Losses;

public class DivergenceTests : TorchTest
{
    // 2 tokens x 3 vocab, one batch row.
    static readonly float[] Student = [1.0f, 2.0f, 0.5f, -1.0f, 0.0f, 1.0f];
    static readonly float[] Teacher = [2.0f, 1.0f, 0.0f, 0.5f, 0.5f, -0.5f];

    static Tensor StudentLogits(bool grad = false) => F(Student, [1, 2, 3], grad);
    static Tensor TeacherLogits(bool grad = false) => F(Teacher, [1, 2, 3], grad);
    static Tensor BothKept => L([7, 8], 1, 2);

    static (double[] P, double[] Q) Token(int t, double temperature = 1.0) =>
        (Ref.Softmax(Row(Teacher, t, 3), temperature), Ref.Softmax(Row(Student, t, 3), temperature));

    /// <summary>Mean over the two tokens of f(p_t, q_t).</summary>
    static double Mean(Func<double[], double[], double> f, double temperature = 1.0)
    {
        var (p0, q0) = Token(0, temperature);
        var (p1, q1) = Token(1, temperature);
        return (f(p0, q0) + f(p1, q1)) / 2;
    }

    [Fact]
    public void Forward_kl_equals_the_hand_computed_value()
    {
        // token 0: p = softmax([2, 1, 0]) = [0.66524096, 0.24472847, 0.09003057]
        //          q = softmax([1, 2, 0.5]) = [0.23122390, 0.62853172, 0.14024438]
        //          KL(p||q) = sum p ln(p/q) = 0.66524 ln(2.87704) - 0.24473 ln(... ) ... (Ref.Kl below)
        var (p0, q0) = Token(0);
        Assert.Equal(0.66524096, p0[0], 6);
        Assert.Equal(0.23122390, q0[0], 6);
        var expected = Mean(Ref.Kl);
        Assert.Equal(expected, Item(KdLoss.ForwardKl(StudentLogits(), TeacherLogits(), BothKept)), 5);
    }

    [Fact]
    public void Reverse_kl_equals_the_hand_computed_value()
    {
        var expected = Mean((p, q) => Ref.Kl(q, p));
        Assert.Equal(expected, Item(KdLoss.ReverseKl(StudentLogits(), TeacherLogits(), BothKept)), 5);
    }

    [Fact]
    public void Temperature_divides_both_logits_and_scales_the_result_by_T_squared()
    {
        // T = 2: p = softmax(teacher / 2), q = softmax(student / 2), loss = 4 * mean KL.
        var expected = 4 * Mean(Ref.Kl, temperature: 2);
        Assert.Equal(expected, Item(KdLoss.ForwardKl(StudentLogits(), TeacherLogits(), BothKept, temperature: 2)), 5);
        var expectedReverse = 4 * Mean((p, q) => Ref.Kl(q, p), temperature: 2);
        Assert.Equal(expectedReverse, Item(KdLoss.ReverseKl(StudentLogits(), TeacherLogits(), BothKept, temperature: 2)), 5);
    }

    [Fact]
    public void Generalized_jsd_equals_the_hand_computed_value()
    {
        // m = 0.3 p + 0.7 q; JSD = 0.3 KL(p||m) + 0.7 KL(q||m)
        var expected = Mean((p, q) => Ref.Jsd(p, q, 0.3));
        Assert.Equal(expected, Item(KdLoss.GeneralizedJsd(StudentLogits(), TeacherLogits(), BothKept, beta: 0.3)), 5);
        var expectedT = 2.25 * Mean((p, q) => Ref.Jsd(p, q, 0.3), temperature: 1.5);
        Assert.Equal(expectedT, Item(KdLoss.GeneralizedJsd(StudentLogits(), TeacherLogits(), BothKept, beta: 0.3, temperature: 1.5)), 5);
    }

    [Fact]
    public void Jsd_is_symmetric_at_beta_one_half_and_bounded_by_ln_2()
    {
        var ab = Item(KdLoss.GeneralizedJsd(StudentLogits(), TeacherLogits(), BothKept, beta: 0.5));
        var ba = Item(KdLoss.GeneralizedJsd(TeacherLogits(), StudentLogits(), BothKept, beta: 0.5));
        Assert.Equal(ab, ba, 6);
        Assert.InRange(ab, 1e-4, Math.Log(2));
        Assert.Equal(Mean((p, q) => Ref.Jsd(p, q, 0.5)), ab, 5);
    }

    [Fact]
    public void Jsd_at_beta_zero_is_forward_kl_and_at_beta_one_is_reverse_kl()
    {
        Assert.Equal(Mean(Ref.Kl), Item(KdLoss.GeneralizedJsd(StudentLogits(), TeacherLogits(), BothKept, beta: 0)), 5);
        Assert.Equal(Mean((p, q) => Ref.Kl(q, p)), Item(KdLoss.GeneralizedJsd(StudentLogits(), TeacherLogits(), BothKept, beta: 1)), 5);
    }

    [Fact]
    public void Skew_kl_equals_the_hand_computed_value()
    {
        // SKL = KL(p || 0.1 p + 0.9 q); SRKL = KL(q || 0.1 q + 0.9 p)
        Assert.Equal(Mean((p, q) => Ref.Kl(p, Ref.Mix(p, q, 0.1))), Item(KdLoss.SkewKl(StudentLogits(), TeacherLogits(), BothKept, alpha: 0.1)), 5);
        Assert.Equal(Mean((p, q) => Ref.Kl(q, Ref.Mix(q, p, 0.1))), Item(KdLoss.SkewReverseKl(StudentLogits(), TeacherLogits(), BothKept, alpha: 0.1)), 5);
        Assert.Equal(Mean(Ref.Kl), Item(KdLoss.SkewKl(StudentLogits(), TeacherLogits(), BothKept, alpha: 0)), 5);
    }

    public static TheoryData<string> AllDivergences => ["fkl", "rkl", "jsd", "jsd0", "jsd1", "skl", "srkl"];

    static Divergence Parse(string name) => name switch
    {
        "fkl" => Divergence.ForwardKl,
        "rkl" => Divergence.ReverseKl,
        "jsd" => Divergence.Jsd(0.5),
        "jsd0" => Divergence.Jsd(0),
        "jsd1" => Divergence.Jsd(1),
        "skl" => Divergence.Skew(0.1),
        "srkl" => Divergence.SkewReverse(0.1),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(AllDivergences))]
    public void Divergence_of_identical_distributions_is_zero(string name)
    {
        var loss = KdLoss.FullDistribution(StudentLogits(), StudentLogits(), BothKept, Parse(name), temperature: 1.7);
        Assert.Equal(0.0, Item(loss), 6);
    }

    [Theory]
    [MemberData(nameof(AllDivergences))]
    public void Masked_positions_are_ignored(string name)
    {
        // Token 1 masked: the loss equals the loss on token 0 alone.
        var masked = KdLoss.FullDistribution(StudentLogits(), TeacherLogits(), L([5, -100], 1, 2), Parse(name));
        var first = KdLoss.FullDistribution(StudentLogits().narrow(1, 0, 1), TeacherLogits().narrow(1, 0, 1), L([5], 1, 1), Parse(name));
        Assert.Equal(Item(first), Item(masked), 6);
        Assert.True(Item(first) > 0);
    }

    [Theory]
    [MemberData(nameof(AllDivergences))]
    public void Every_position_masked_gives_zero_and_backward_still_runs(string name)
    {
        var student = StudentLogits(grad: true);
        var loss = KdLoss.FullDistribution(student, TeacherLogits(), L([-100, -100], 1, 2), Parse(name), temperature: 2);
        Assert.Equal(0.0, Item(loss));
        loss.backward();
        Assert.Equal(0.0, Item(student.grad!.abs().sum()));
    }

    [Theory]
    [MemberData(nameof(AllDivergences))]
    public void Gradients_reach_the_student_only(string name)
    {
        var student = StudentLogits(grad: true);
        var teacher = TeacherLogits(grad: true);
        KdLoss.FullDistribution(student, teacher, BothKept, Parse(name), temperature: 2).backward();
        Assert.True(Item(student.grad!.abs().sum()) > 0);
        Assert.True(teacher.grad is null || Item(teacher.grad.abs().sum()) == 0);
    }

    [Fact]
    public void Forward_kl_gradient_is_q_minus_p_over_the_token_count()
    {
        // d/dz KL(p || softmax(z)) = q - p per token; the mean over 2 tokens halves it.
        var student = StudentLogits(grad: true);
        KdLoss.ForwardKl(student, TeacherLogits(), BothKept).backward();
        var grad = student.grad!.reshape(-1).data<float>().ToArray();
        var (p0, q0) = Token(0);
        var (p1, q1) = Token(1);
        var expected = q0.Zip(p0, (q, p) => (q - p) / 2).Concat(q1.Zip(p1, (q, p) => (q - p) / 2)).ToArray();
        for (var i = 0; i < 6; i++) Assert.Equal(expected[i], grad[i], 5);
    }

    [Fact]
    public void Bad_shapes_and_parameters_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => KdLoss.ForwardKl(StudentLogits(), F([1, 2, 3], [1, 1, 3]), BothKept));
        Assert.Throws<ArgumentException>(() => KdLoss.ForwardKl(StudentLogits(), TeacherLogits(), L([1, 2, 3], 1, 3)));
        Assert.Throws<ArgumentOutOfRangeException>(() => KdLoss.ForwardKl(StudentLogits(), TeacherLogits(), BothKept, temperature: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => KdLoss.GeneralizedJsd(StudentLogits(), TeacherLogits(), BothKept, beta: 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => KdLoss.SkewKl(StudentLogits(), TeacherLogits(), BothKept, alpha: 1));
    }
}

public class MaskedVocabularyTests : TorchTest
{
    public static TheoryData<string> Kinds => ["fkl", "rkl", "jsd", "skl", "srkl"];

    static Divergence Parse(string name) => name switch
    {
        "fkl" => Divergence.ForwardKl,
        "rkl" => Divergence.ReverseKl,
        "jsd" => Divergence.Jsd(0.4),
        "skl" => Divergence.Skew(0.1),
        _ => Divergence.SkewReverse(0.1),
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void A_minus_infinity_logit_in_both_models_drops_that_entry_and_keeps_gradients_finite(string name)
    {
        // Vocabulary of 4 where id 3 is padding (-inf in both models): the loss equals the loss over the first 3 ids.
        var ninf = float.NegativeInfinity;
        var student = F([1, 2, 0.5f, ninf, -1, 0, 1, ninf], [1, 2, 4], grad: true);
        var teacher = F([2, 1, 0, ninf, 0.5f, 0.5f, -0.5f, ninf], [1, 2, 4]);
        var labels = L([1, 2], 1, 2);
        var loss = KdLoss.FullDistribution(student, teacher, labels, Parse(name), temperature: 2);
        var reference = KdLoss.FullDistribution(student.narrow(-1, 0, 3), teacher.narrow(-1, 0, 3), labels, Parse(name), temperature: 2);
        Assert.Equal(Item(reference), Item(loss), 5);
        loss.backward();
        Assert.True(student.grad!.isfinite().all().item<bool>());
    }
}
