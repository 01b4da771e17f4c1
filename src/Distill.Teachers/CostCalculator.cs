namespace Distill.Teachers;

/// <summary>USD cost of a completion from per-1M-token prices; cached prompt tokens are billed at the cached price.</summary>
public sealed class CostCalculator(double inputPer1M, double cachedInputPer1M, double outputPer1M)
{
    public CostCalculator(TeacherOptions options)
        : this(options.InputPricePer1M, options.CachedInputPricePer1M ?? options.InputPricePer1M, options.OutputPricePer1M) { }

    public double InputPer1M { get; } = inputPer1M;
    public double CachedInputPer1M { get; } = cachedInputPer1M;
    public double OutputPer1M { get; } = outputPer1M;

    /// <summary>Every price times <paramref name="factor"/> (e.g. the Batch API's half price).</summary>
    public CostCalculator Scaled(double factor) => new(InputPer1M * factor, CachedInputPer1M * factor, OutputPer1M * factor);

    public double Cost(TeacherUsage usage)
    {
        long cached = Math.Clamp(usage.CachedPromptTokens, 0, Math.Max(0, usage.PromptTokens));
        long uncached = Math.Max(0, usage.PromptTokens) - cached;
        return (uncached * InputPer1M + cached * CachedInputPer1M + Math.Max(0, usage.CompletionTokens) * (double)OutputPer1M) / 1_000_000d;
    }
}

/// <summary>Totals of tokens, cost and requests, overall or for one teacher.</summary>
public sealed record UsageTotals(long Requests, long Failures, long PromptTokens, long CachedPromptTokens, long CompletionTokens, double CostUsd)
{
    public static readonly UsageTotals Zero = new(0, 0, 0, 0, 0, 0);
    public long TotalTokens => PromptTokens + CompletionTokens;
}

/// <summary>Thread-safe aggregation of usage and cost across every teacher call of a run.</summary>
public sealed class UsageMeter
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, UsageTotals> _byTeacher = new(StringComparer.Ordinal);
    private UsageTotals _total = UsageTotals.Zero;

    /// <summary>Adds one successful completion (its usage and <see cref="TeacherResponse.CostUsd"/>).</summary>
    public void Record(TeacherResponse response) => Record(response.TeacherName, response.Usage, response.CostUsd);

    public void Record(string teacher, TeacherUsage usage, double costUsd)
    {
        lock (_lock)
        {
            _total = Add(_total, usage, costUsd, failed: false);
            _byTeacher[teacher] = Add(_byTeacher.GetValueOrDefault(teacher, UsageTotals.Zero), usage, costUsd, failed: false);
        }
    }

    /// <summary>Counts a call that produced no completion (it costs nothing that we can see).</summary>
    public void RecordFailure(string teacher)
    {
        lock (_lock)
        {
            _total = Add(_total, TeacherUsage.Zero, 0, failed: true);
            _byTeacher[teacher] = Add(_byTeacher.GetValueOrDefault(teacher, UsageTotals.Zero), TeacherUsage.Zero, 0, failed: true);
        }
    }

    public UsageTotals Total { get { lock (_lock) return _total; } }

    public IReadOnlyDictionary<string, UsageTotals> ByTeacher { get { lock (_lock) return new Dictionary<string, UsageTotals>(_byTeacher); } }

    /// <summary>True when a budget is set and the total cost has reached it.</summary>
    public bool BudgetExceeded(double? budgetUsd) => Budget.Exceeded(Total.CostUsd, budgetUsd);

    private static UsageTotals Add(UsageTotals t, TeacherUsage u, double cost, bool failed) => new(
        t.Requests + 1, t.Failures + (failed ? 1 : 0), t.PromptTokens + u.PromptTokens, t.CachedPromptTokens + u.CachedPromptTokens,
        t.CompletionTokens + u.CompletionTokens, t.CostUsd + cost);
}

/// <summary>Budget checks for a generation run.</summary>
public static class Budget
{
    /// <summary>True when <paramref name="budgetUsd"/> is set and <paramref name="spentUsd"/> &gt;= it.</summary>
    public static bool Exceeded(double spentUsd, double? budgetUsd) => budgetUsd is { } b && spentUsd >= b;
}
