using TorchSharp;
using static TorchSharp.torch;
using static Distill.Models.Native.Scalars;

namespace Distill.Training.Losses;

/// <summary>Which divergence between the teacher distribution p and the student distribution q a KD loss minimizes.</summary>
public enum DivergenceKind
{
    /// <summary>KL(p || q): mean-seeking; the standard KD objective (Hinton et al.).</summary>
    ForwardKl,
    /// <summary>KL(q || p): mode-seeking (MiniLLM).</summary>
    ReverseKl,
    /// <summary>Generalized Jensen-Shannon with weight beta (GKD, TRL's generalized_jsd_loss); see <see cref="KdLoss.GeneralizedJsd"/>.</summary>
    GeneralizedJsd,
    /// <summary>Skew KL(p || alpha p + (1 - alpha) q) (DistiLLM).</summary>
    SkewKl,
    /// <summary>Skew reverse KL(q || alpha q + (1 - alpha) p) (DistiLLM).</summary>
    SkewReverseKl,
}

/// <summary>
/// A divergence and its parameter, so a trainer config can name the KD objective once and every loss path
/// (full logits, chunked, staged) uses the same one.
/// </summary>
/// <param name="Kind">The divergence.</param>
/// <param name="Beta">Generalized JSD weight in [0, 1]; 0.5 is the symmetric JSD. Only read for <see cref="DivergenceKind.GeneralizedJsd"/>.</param>
/// <param name="Alpha">Skew in [0, 1); DistiLLM uses 0.1. Only read for the skew kinds.</param>
public sealed record Divergence(DivergenceKind Kind, double Beta = 0.5, double Alpha = 0.1)
{
    public static Divergence ForwardKl { get; } = new(DivergenceKind.ForwardKl);
    public static Divergence ReverseKl { get; } = new(DivergenceKind.ReverseKl);
    public static Divergence Jsd(double beta = 0.5) => new(DivergenceKind.GeneralizedJsd, Beta: beta);
    public static Divergence Skew(double alpha = 0.1) => new(DivergenceKind.SkewKl, Alpha: alpha);
    public static Divergence SkewReverse(double alpha = 0.1) => new(DivergenceKind.SkewReverseKl, Alpha: alpha);

    /// <summary>Throws when the parameter the kind reads is out of range.</summary>
    public void Validate()
    {
        if (Kind == DivergenceKind.GeneralizedJsd && (Beta is < 0 or > 1 || double.IsNaN(Beta)))
            throw new ArgumentOutOfRangeException(nameof(Beta), Beta, "generalized JSD beta must be in [0, 1]");
        if (Kind is DivergenceKind.SkewKl or DivergenceKind.SkewReverseKl && (Alpha is < 0 or >= 1 || double.IsNaN(Alpha)))
            throw new ArgumentOutOfRangeException(nameof(Alpha), Alpha, "skew alpha must be in [0, 1)");
    }

    /// <summary>Per-position divergence summed over the vocabulary: teacher and student log-probs [N, V] (float32) to [N].</summary>
    internal Tensor PerToken(Tensor teacherLogP, Tensor studentLogQ) => Kind switch
    {
        DivergenceKind.ForwardKl => LossMath.Kl(teacherLogP, studentLogQ),
        DivergenceKind.ReverseKl => LossMath.Kl(studentLogQ, teacherLogP),
        DivergenceKind.GeneralizedJsd => Beta switch
        {
            0.0 => LossMath.Kl(teacherLogP, studentLogQ),
            1.0 => LossMath.Kl(studentLogQ, teacherLogP),
            _ => JsdPerToken(teacherLogP, studentLogQ, Beta),
        },
        DivergenceKind.SkewKl => Alpha == 0.0
            ? LossMath.Kl(teacherLogP, studentLogQ)
            : LossMath.Kl(teacherLogP, LossMath.LogMixture(teacherLogP, studentLogQ, Alpha)),
        DivergenceKind.SkewReverseKl => Alpha == 0.0
            ? LossMath.Kl(studentLogQ, teacherLogP)
            : LossMath.Kl(studentLogQ, LossMath.LogMixture(studentLogQ, teacherLogP, Alpha)),
        _ => throw new ArgumentOutOfRangeException(nameof(Kind), Kind, "unknown divergence"),
    };

    static Tensor JsdPerToken(Tensor logP, Tensor logQ, double beta)
    {
        var logM = LossMath.LogMixture(logP, logQ, beta);
        using var pWeight = beta.ToScalar();
        using var qWeight = (1 - beta).ToScalar();
        return LossMath.Kl(logP, logM).mul(pWeight).add(LossMath.Kl(logQ, logM).mul(qWeight), One);
    }
}

internal static partial class KdLoss
{
    /// <summary>
    /// Full-distribution logit KD with any <see cref="Divergence"/>: both logits are upcast to float32 and divided by
    /// <paramref name="temperature"/>, the divergence is summed over the vocabulary, averaged over positions whose label is not
    /// <paramref name="ignoreIndex"/>, and multiplied by T^2 (Hinton) so gradient magnitudes do not shrink as T grows.
    /// The teacher side is detached: gradients reach the student only. Returns 0 (attached to the graph) when every position is masked.
    /// </summary>
    /// <param name="studentLogits">[B, T, V] or [N, V], any float dtype.</param>
    /// <param name="teacherLogits">Same shape as <paramref name="studentLogits"/> (same tokenizer and vocabulary).</param>
    /// <param name="labels">[B, T] or [N] int64; only used as a mask (positions equal to <paramref name="ignoreIndex"/> are skipped).</param>
    /// <param name="divergence">The objective.</param>
    /// <param name="temperature">T &gt; 0 applied to both distributions.</param>
    /// <param name="ignoreIndex">Label value to skip; -100 by default.</param>
    /// <returns>Scalar float32 tensor.</returns>
    public static Tensor FullDistribution(Tensor studentLogits, Tensor teacherLogits, Tensor labels, Divergence divergence,
        double temperature = 1.0, long ignoreIndex = IgnoreIndex)
    {
        divergence.Validate();
        LossMath.CheckTemperature(temperature);
        LossMath.CheckSameShape(studentLogits, teacherLogits, nameof(studentLogits), nameof(teacherLogits));
        var (student, flatLabels) = LossMath.Flatten(studentLogits, labels, nameof(studentLogits));
        var teacher = teacherLogits.detach().reshape(student.shape);
        var keep = LossMath.KeepMask(flatLabels, ignoreIndex);
        var perToken = divergence.PerToken(LossMath.LogProbs(teacher, temperature), LossMath.LogProbs(student, temperature));
        using var temperatureSquared = (temperature * temperature).ToScalar();
        return LossMath.MaskedMean(perToken, keep).mul(temperatureSquared);
    }
}
