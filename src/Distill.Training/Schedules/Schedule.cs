namespace Distill.Training.Schedules;

/// <summary>Shape of a scalar schedule between its start and end values.</summary>
public enum ScheduleKind
{
    /// <summary>Always the start value.</summary>
    Constant,
    /// <summary>Straight line from start to end over the ramp.</summary>
    Linear,
    /// <summary>Half cosine from start to end over the ramp: start + (end - start) * (1 - cos(pi * f)) / 2.</summary>
    Cosine,
}

/// <summary>
/// A scalar that changes with the training step, for the KD weight alpha and the temperature T.
/// The value is <see cref="Start"/> for the first <see cref="HoldSteps"/> steps, then moves to <see cref="End"/> over
/// <see cref="RampSteps"/> steps (all remaining steps when null) following <see cref="Kind"/>, and stays at <see cref="End"/>.
/// </summary>
/// <param name="Kind">Shape of the ramp.</param>
/// <param name="Start">Value at step 0.</param>
/// <param name="End">Value after the ramp (ignored by <see cref="ScheduleKind.Constant"/>).</param>
/// <param name="HoldSteps">Steps at <see cref="Start"/> before the ramp begins.</param>
/// <param name="RampSteps">Length of the ramp; null means until the last step.</param>
public sealed record Schedule(ScheduleKind Kind, double Start, double End, long HoldSteps = 0, long? RampSteps = null)
{
    /// <summary>A schedule that is always <paramref name="value"/>.</summary>
    public static Schedule Constant(double value) => new(ScheduleKind.Constant, value, value);

    /// <summary>
    /// The value at <paramref name="step"/> (0-based) of a run of <paramref name="totalSteps"/> steps.
    /// The ramp fraction is f = (step - hold) / ramp clamped to [0, 1]; with the default ramp the last step
    /// (totalSteps - 1) is exactly <see cref="End"/>.
    /// </summary>
    public double Value(long step, long totalSteps)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, "step must be >= 0");
        if (totalSteps < 1) throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, "totalSteps must be >= 1");
        if (Kind == ScheduleKind.Constant || step <= HoldSteps) return Start;
        var ramp = RampSteps ?? Math.Max(1, totalSteps - 1 - HoldSteps);
        if (ramp <= 0) return End;
        var f = Math.Clamp((double)(step - HoldSteps) / ramp, 0, 1);
        var shaped = Kind == ScheduleKind.Linear ? f : (1 - Math.Cos(Math.PI * f)) / 2;
        return Start + (End - Start) * shaped;
    }
}

/// <summary>
/// Learning rate with linear warmup then cosine decay to <see cref="MinRatio"/> * <see cref="PeakLr"/>, the same curve as
/// Hugging Face's <c>get_cosine_with_min_lr_schedule_with_warmup(min_lr_rate)</c> so runs compare with transformers:
/// <code>
/// step &lt; warmup : peak * step / warmup
/// otherwise     : peak * (min + (1 - min) * 0.5 * (1 + cos(pi * (step - warmup) / (total - warmup))))
/// </code>
/// </summary>
/// <param name="PeakLr">Learning rate at the end of warmup.</param>
/// <param name="WarmupSteps">Linear warmup steps (0 for none).</param>
/// <param name="TotalSteps">Steps in the run; the cosine reaches its minimum at step TotalSteps.</param>
/// <param name="MinRatio">Floor as a fraction of the peak, in [0, 1] (0.1 is common).</param>
public sealed record LearningRateSchedule(double PeakLr, long WarmupSteps, long TotalSteps, double MinRatio = 0.0)
{
    /// <summary>The learning rate for optimizer step <paramref name="step"/> (0-based).</summary>
    public double At(long step) => PeakLr * Factor(step);

    /// <summary>The multiplier of <see cref="PeakLr"/> at <paramref name="step"/>, in [0, 1].</summary>
    public double Factor(long step)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, "step must be >= 0");
        if (MinRatio is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(MinRatio), MinRatio, "MinRatio must be in [0, 1]");
        if (step < WarmupSteps) return (double)step / WarmupSteps;
        var decay = Math.Max(1, TotalSteps - WarmupSteps);
        var progress = Math.Clamp((double)(step - WarmupSteps) / decay, 0, 1);
        return MinRatio + (1 - MinRatio) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }
}
