using Distill.Core.Samples;

namespace Distill.Teachers.Tests;

public sealed class BudgetLedgerTests
{
    [Fact]
    public async Task Reservations_are_granted_while_spent_plus_held_plus_worst_case_fit_the_limit()
    {
        var ledger = new BudgetLedger(1.0);

        var a = await ledger.ReserveAsync(0.4);
        var b = await ledger.ReserveAsync(0.6);

        Assert.NotNull(a);
        Assert.NotNull(b);
        Assert.Equal(1.0, ledger.Snapshot().HeldUsd, 12);
    }

    [Fact]
    public async Task A_request_that_does_not_fit_waits_for_one_in_flight_to_settle_then_fits_in_what_it_freed()
    {
        var ledger = new BudgetLedger(1.0);
        var first = (await ledger.ReserveAsync(0.5))!;
        await ledger.ReserveAsync(0.3);

        var waiting = ledger.ReserveAsync(0.4).AsTask();
        await Task.Delay(50);
        Assert.False(waiting.IsCompleted); // 0.5 + 0.3 + 0.4 > 1.0

        ledger.Settle(first, 0.1); // spent 0.1, held 0.3: 0.1 + 0.3 + 0.4 = 0.8
        var third = await waiting.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.NotNull(third);
        var s = ledger.Snapshot();
        Assert.Equal(0.1, s.SpentUsd, 12);
        Assert.Equal(0.7, s.HeldUsd, 12);
        Assert.Equal(0.4, s.ReleasedUsd, 12); // 0.5 reserved, 0.1 spent
        Assert.False(s.Exhausted);
    }

    [Fact]
    public async Task With_nothing_in_flight_a_request_that_does_not_fit_exhausts_the_ledger_and_later_ones_are_refused()
    {
        var ledger = new BudgetLedger(1.0);
        var r = (await ledger.ReserveAsync(0.9))!;
        ledger.Settle(r, 0.8);

        Assert.Null(await ledger.ReserveAsync(0.3)); // 0.8 + 0.3 > 1.0, nothing in flight to wait for
        Assert.True(ledger.Exhausted);
        Assert.Null(await ledger.ReserveAsync(0.1)); // exhausted: no request starts any more
    }

    [Fact]
    public async Task Released_reservations_free_everything_and_count_as_released()
    {
        var ledger = new BudgetLedger(2.0);
        var a = (await ledger.ReserveAsync(1.5))!;
        var b = (await ledger.ReserveAsync(0.5))!;

        ledger.Release(a);
        ledger.Settle(b, 0.2);
        ledger.Release(a); // a second close is ignored

        var s = ledger.Snapshot();
        Assert.Equal(0.2, s.SpentUsd, 12);
        Assert.Equal(0.0, s.HeldUsd, 12);
        Assert.Equal(1.8, s.ReleasedUsd, 12); // 1.5 released + (0.5 - 0.2)
        Assert.Equal(0.5, s.SettledWorstCaseUsd, 12);
        Assert.Equal(0.4, s.SpentShareOfWorstCase!.Value, 12);
        Assert.Equal((1, 1, 0), (s.Settled, s.Released, s.Overruns));
    }

    [Fact]
    public async Task A_call_that_costs_more_than_its_worst_case_is_counted_as_an_overrun()
    {
        var ledger = new BudgetLedger(1.0);
        var r = (await ledger.ReserveAsync(0.1))!;

        ledger.Settle(r, 0.15);

        Assert.Equal(1, ledger.Snapshot().Overruns);
        Assert.Equal(0.15, ledger.Snapshot().SpentUsd, 12);
    }

    [Fact]
    public async Task Spending_never_passes_the_budget_under_concurrency_16_with_a_cost_that_varies_per_call()
    {
        const double budget = 0.5;
        var ledger = new BudgetLedger(budget);
        var fake = new VariableCostTeacher(seed: 7);
        var worstCase = new WorstCaseCost(new CostCalculator(inputPer1M: 400, cachedInputPer1M: 400, outputPer1M: 1600));
        var teacher = new BudgetedTeacher(fake, ledger, worstCase);
        int refused = 0;

        await Parallel.ForEachAsync(Enumerable.Range(0, 400), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
        {
            try
            {
                await teacher.CompleteAsync(new TeacherRequest { Messages = [ChatMessage.User(new string('x', 20 + i % 50))], MaxTokens = 64 }, ct);
            }
            catch (BudgetExhaustedException)
            {
                Interlocked.Increment(ref refused);
            }
        });

        var s = ledger.Snapshot();
        Assert.True(fake.TotalCostUsd <= budget, $"spent {fake.TotalCostUsd} of {budget}");
        Assert.Equal(fake.TotalCostUsd, s.SpentUsd, 9);
        Assert.True(refused > 0, "the budget should have run out");
        Assert.True(fake.MaxInFlight > 1, "requests should have run concurrently");
        // It stops only when the next worst case does not fit: within one worst case (~0.13 USD here) of the limit.
        Assert.True(s.SpentUsd > budget - 0.15, $"stopped early at {s.SpentUsd}");
        Assert.Equal(0, s.Overruns);
        Assert.Equal(0.0, s.HeldUsd, 12);
    }

    /// <summary>Answers after a random delay with random usage within the request's bounds, at the same prices as the worst case.</summary>
    private sealed class VariableCostTeacher(int seed) : ITeacher
    {
        private readonly Random _random = new(seed);
        private readonly Lock _lock = new();
        private readonly CostCalculator _prices = new(400, 400, 1600);
        private double _total;
        private int _inFlight, _maxInFlight;

        public string Name => "variable";
        public TeacherInfo Info => new("fake", "variable", null);
        public double TotalCostUsd { get { lock (_lock) return _total; } }
        public int MaxInFlight => Volatile.Read(ref _maxInFlight);

        public async Task<TeacherResponse> CompleteAsync(TeacherRequest request, CancellationToken cancellationToken = default)
        {
            var now = Interlocked.Increment(ref _inFlight);
            InterlockedMax(ref _maxInFlight, now);
            int delay, prompt, completion;
            lock (_lock)
            {
                delay = _random.Next(1, 15);
                prompt = (request.Messages[0].Content!.Length + 3) / 4 + _random.Next(0, 5);
                completion = _random.Next(1, request.MaxTokens!.Value + 1);
            }
            await Task.Delay(delay, cancellationToken);
            var usage = new TeacherUsage(prompt, completion, 0);
            var cost = _prices.Cost(usage);
            lock (_lock) _total += cost;
            Interlocked.Decrement(ref _inFlight);
            return new TeacherResponse { Content = "ok", Usage = usage, CostUsd = cost, TeacherName = Name };
        }

        private static void InterlockedMax(ref int target, int value)
        {
            for (int seen = Volatile.Read(ref target); value > seen; seen = Volatile.Read(ref target))
                if (Interlocked.CompareExchange(ref target, value, seen) == seen) return;
        }
    }
}
