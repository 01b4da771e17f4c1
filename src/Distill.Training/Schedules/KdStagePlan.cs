using Distill.Training.Losses;

namespace Distill.Training.Schedules;

/// <summary>Which KD loss a step uses.</summary>
internal enum KdStage
{
    /// <summary>Sparse KD from the teacher's stored top-k log-probabilities (<see cref="KdLoss.SparseTopK"/>); no teacher forward.</summary>
    SparseTopK,
    /// <summary>Full-distribution KD from an online teacher (<c>KdLoss.Chunked</c> or <see cref="KdLoss.FullDistribution"/>).</summary>
    FullDistribution,
}

/// <summary>
/// A staged KD recipe: the first <see cref="SparseFraction"/> of the steps use cheap sparse top-k KD from stored teacher
/// log-probabilities, the rest full-distribution KD with an online teacher using <see cref="Divergence"/>.
/// SparseFraction = 1 is offline-only training (no teacher in memory); 0 is online-only.
/// </summary>
/// <param name="SparseFraction">Fraction of the run, in [0, 1], that uses sparse top-k KD.</param>
/// <param name="Divergence">Objective of the full-distribution stage; forward KL when null.</param>
/// <param name="Tail">Tail-mass treatment of the sparse stage.</param>
internal sealed record KdStagePlan(double SparseFraction, Divergence? Divergence = null, TailMode Tail = TailMode.RestBucket)
{
    /// <summary>Sparse top-k KD for every step.</summary>
    public static KdStagePlan SparseOnly { get; } = new(1.0);

    /// <summary>Online full-distribution forward KL for every step.</summary>
    public static KdStagePlan FullOnly { get; } = new(0.0);

    /// <summary>The divergence of the full-distribution stage.</summary>
    public Divergence FullDivergence => Divergence ?? Losses.Divergence.ForwardKl;

    /// <summary>First step (0-based) of the full-distribution stage in a run of <paramref name="totalSteps"/>: ceil(fraction * total).</summary>
    public long SwitchStep(long totalSteps)
    {
        Validate();
        if (totalSteps < 1) throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, "totalSteps must be >= 1");
        return (long)Math.Ceiling(SparseFraction * totalSteps - 1e-9);
    }

    /// <summary>The stage of step <paramref name="step"/> (0-based) of <paramref name="totalSteps"/>.</summary>
    public KdStage StageAt(long step, long totalSteps) =>
        step < SwitchStep(totalSteps) ? KdStage.SparseTopK : KdStage.FullDistribution;

    /// <summary>True when some step needs the online teacher (so the trainer must load it).</summary>
    public bool NeedsOnlineTeacher(long totalSteps) => SwitchStep(totalSteps) < totalSteps;

    /// <summary>True when some step needs stored teacher log-probabilities in the dataset.</summary>
    public bool NeedsStoredLogprobs(long totalSteps) => SwitchStep(totalSteps) > 0;

    public void Validate()
    {
        if (SparseFraction is < 0 or > 1 || double.IsNaN(SparseFraction))
            throw new Core.Errors.DistillException($"the sparse KD fraction {SparseFraction} is outside [0, 1]",
                "set it to the share of steps that should use stored top-k logprobs, e.g. 0.3");
        FullDivergence.Validate();
    }
}
