using Distill.Teachers;

namespace Distill.Generation.Runner;

/// <summary>
/// Tells a systematic teacher error (the configuration is wrong, every request fails the same way) from per-sample ones.
/// Samples that failed with a request error are held, not committed, while the same error (<see cref="TeacherRequestException.Signature"/>)
/// repeats; any other outcome breaks the streak and releases them to be committed as rejects. The same error <c>threshold</c>
/// times in a row trips the guard: the run stops and the held samples are never committed, so a rerun after the fix generates them.
/// Not thread-safe: the runner calls it under its commit lock, in completion order.
/// </summary>
public sealed class SystematicErrorGuard<T>
{
    private readonly List<T> _held = [];
    private TeacherRequestException? _streak;
    private bool _sawOtherOutcome;

    public SystematicErrorGuard(int threshold)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threshold, 1);
        Threshold = threshold;
    }

    public int Threshold { get; }

    /// <summary>The error that stopped the run, once the guard tripped.</summary>
    public TeacherRequestException? Tripped { get; private set; }

    /// <summary>Samples of the current streak (after a trip: the ones that will not be committed).</summary>
    public int HeldCount => _held.Count;

    /// <summary>A sample ended without a request error (accepted, or rejected for its own reasons): returns the held samples to commit now.</summary>
    public IReadOnlyList<T> Passed()
    {
        _sawOtherOutcome = true;
        return Tripped is null ? Take() : []; // after a trip the held samples stay uncommitted
    }

    /// <summary>
    /// A sample failed with <paramref name="error"/>: it is held. Returns the held samples of an earlier, different error, to
    /// commit now (they were per-sample after all). Check <see cref="Tripped"/> after.
    /// </summary>
    public IReadOnlyList<T> Failed(TeacherRequestException error, T sample)
    {
        if (Tripped is not null) throw new InvalidOperationException("the guard has tripped; the run is stopping");
        IReadOnlyList<T> released = [];
        if (_streak is null || _streak.Signature != error.Signature)
        {
            released = Take();
            _sawOtherOutcome |= released.Count > 0;
            _streak = error;
        }
        _held.Add(sample);
        if (_held.Count >= Threshold) Tripped = error;
        return released;
    }

    /// <summary>
    /// The run ended. A streak shorter than the threshold still trips when it is every outcome of the run and its error is about
    /// the configuration (<see cref="TeacherErrorKinds.IsConfiguration"/>): a short run against a model that refuses logprobs must
    /// not commit its tasks as rejects either. Otherwise returns the held samples to commit.
    /// </summary>
    public IReadOnlyList<T> Finish()
    {
        if (Tripped is null && _streak is not null && _held.Count > 0 && !_sawOtherOutcome && TeacherErrorKinds.IsConfiguration(_streak.Kind))
            Tripped = _streak;
        return Tripped is null ? Take() : [];
    }

    private List<T> Take()
    {
        var taken = _held.ToList();
        _held.Clear();
        _streak = null;
        return taken;
    }
}
