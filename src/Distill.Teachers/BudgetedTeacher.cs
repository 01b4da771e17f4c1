using Distill.Core.Samples;

namespace Distill.Teachers;

/// <summary>
/// Sends a request only after <paramref name="ledger"/> has reserved its worst-case cost, and settles the real cost
/// (<see cref="TeacherResponse.CostUsd"/>) after; a request that fails frees its reservation. When the budget cannot cover a
/// request it is not sent: <see cref="BudgetExhaustedException"/>. Wrap it around the resilient teacher (one reservation
/// covers all retries of a request, since providers do not bill 429s and 5xx) and inside the response cache (hits are free).
/// <paramref name="setting"/> names where the limit is set (<c>--budget-usd</c>, or a teacher's <c>BudgetUsd</c>), for the error's fix.
/// </summary>
public sealed class BudgetedTeacher(ITeacher inner, BudgetLedger ledger, WorstCaseCost worstCase, string setting = "--budget-usd") : ITeacher
{
    public string Name => inner.Name;
    public TeacherInfo Info => inner.Info;
    public BudgetLedger Ledger => ledger;

    public async Task<TeacherResponse> CompleteAsync(TeacherRequest request, CancellationToken cancellationToken = default)
    {
        var cost = worstCase.Of(request);
        var reservation = await ledger.ReserveAsync(cost, cancellationToken).ConfigureAwait(false)
            ?? throw new BudgetExhaustedException(Name, ledger.LimitUsd, cost, setting);
        TeacherResponse response;
        try
        {
            response = await inner.CompleteAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            ledger.Release(reservation);
            throw;
        }
        ledger.Settle(reservation, response.CostUsd);
        return response;
    }
}
