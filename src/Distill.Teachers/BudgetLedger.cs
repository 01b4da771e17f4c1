namespace Distill.Teachers;

/// <summary>One request's hold on a <see cref="BudgetLedger"/>: settled with the real cost, or released when no answer came.</summary>
public sealed class BudgetReservation
{
    internal BudgetReservation(decimal amount) => Amount = amount;

    internal decimal Amount { get; }
    internal bool Closed { get; set; }

    /// <summary>The worst-case cost held for the request.</summary>
    public double AmountUsd => (double)Amount;
}

/// <summary>Where a <see cref="BudgetLedger"/> stands.</summary>
/// <param name="SpentUsd">Real cost of the settled requests.</param>
/// <param name="HeldUsd">Worst-case cost held by requests in flight.</param>
/// <param name="ReleasedUsd">Reserved but not spent: worst case minus real cost of settled requests, plus all of released ones.</param>
/// <param name="SettledWorstCaseUsd">Worst-case cost reserved for the requests that settled (what <see cref="SpentUsd"/> is compared with).</param>
/// <param name="Overruns">Settled requests that cost more than their reservation (the worst case was not one): should stay 0.</param>
/// <param name="Exhausted">A request did not fit even with nothing in flight: no request starts any more.</param>
public sealed record BudgetSnapshot(
    double LimitUsd, double SpentUsd, double HeldUsd, double ReleasedUsd, double SettledWorstCaseUsd, int Settled, int Released, int Overruns, bool Exhausted)
{
    /// <summary>Real cost of the settled requests as a share of their worst case (1 = the estimate was exact); null before any settled.</summary>
    public double? SpentShareOfWorstCase => SettledWorstCaseUsd > 0 ? SpentUsd / SettledWorstCaseUsd : null;
}

/// <summary>
/// A hard spending cap for requests that run concurrently. Each request reserves its worst-case cost before it is sent
/// (<see cref="ReserveAsync"/>) and settles its real cost after (<see cref="Settle"/>) or releases the reservation when it
/// produced nothing billable (<see cref="Release"/>). A reservation is granted only while spent + held + worst case stays within
/// the limit; otherwise the request waits for requests in flight to settle (they usually free most of their hold), and when
/// nothing is in flight and it still does not fit the ledger is exhausted. So spending never passes the limit, as long as each
/// worst case is an upper bound of the request's real cost. Amounts are kept as decimals, so sums are exact. Thread-safe.
/// </summary>
public sealed class BudgetLedger
{
    private readonly Lock _lock = new();
    private readonly decimal _limit;
    private decimal _spent, _held, _released, _settledWorstCase;
    private int _settled, _releasedCount, _overruns;
    private bool _exhausted;
    private TaskCompletionSource _changed = NewSignal();

    public BudgetLedger(double limitUsd)
    {
        if (!double.IsFinite(limitUsd) || limitUsd < 0)
            throw new ArgumentOutOfRangeException(nameof(limitUsd), limitUsd, "a budget is a finite amount of at least 0 USD");
        _limit = (decimal)limitUsd;
        LimitUsd = limitUsd;
    }

    public double LimitUsd { get; }

    /// <summary>True once a request could not fit even with nothing in flight.</summary>
    public bool Exhausted { get { lock (_lock) return _exhausted; } }

    /// <summary>
    /// Holds <paramref name="worstCaseUsd"/> for one request, waiting while requests in flight may still free enough;
    /// null when the budget cannot cover it (the request must not be sent).
    /// </summary>
    public async ValueTask<BudgetReservation?> ReserveAsync(double worstCaseUsd, CancellationToken cancellationToken = default)
    {
        var amount = ToAmount(worstCaseUsd);
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                if (_exhausted) return null;
                if (_spent + _held + amount <= _limit)
                {
                    _held += amount;
                    return new BudgetReservation(amount);
                }
                if (_held == 0)
                {
                    _exhausted = true;
                    Signal();
                    return null;
                }
                changed = _changed.Task;
            }
            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The request was answered and cost <paramref name="actualUsd"/>: spend it and free the rest of the hold.</summary>
    public void Settle(BudgetReservation reservation, double actualUsd)
    {
        var actual = ToAmount(actualUsd);
        lock (_lock)
        {
            if (!Close(reservation)) return;
            _spent += actual;
            _settledWorstCase += reservation.Amount;
            _released += Math.Max(0, reservation.Amount - actual);
            _settled++;
            if (actual > reservation.Amount) _overruns++;
            Signal();
        }
    }

    /// <summary>The request produced nothing billable (refused, failed, cancelled): free its whole hold.</summary>
    public void Release(BudgetReservation reservation)
    {
        lock (_lock)
        {
            if (!Close(reservation)) return;
            _released += reservation.Amount;
            _releasedCount++;
            Signal();
        }
    }

    public BudgetSnapshot Snapshot()
    {
        lock (_lock)
            return new BudgetSnapshot(LimitUsd, (double)_spent, (double)_held, (double)_released, (double)_settledWorstCase,
                _settled, _releasedCount, _overruns, _exhausted);
    }

    private bool Close(BudgetReservation reservation)
    {
        if (reservation.Closed) return false; // settling twice must not free the hold twice
        reservation.Closed = true;
        _held -= reservation.Amount;
        return true;
    }

    // Called under the lock: wakes every waiter to re-check, and arms a fresh signal for the next change.
    private void Signal()
    {
        var old = _changed;
        _changed = NewSignal();
        old.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static decimal ToAmount(double usd) =>
        double.IsFinite(usd) && usd >= 0 ? (decimal)usd : throw new ArgumentOutOfRangeException(nameof(usd), usd, "a cost is a finite amount of at least 0 USD");
}
