using Distill.Generation.Quality;
using Distill.Generation.Recipes;
using Distill.Teachers;

namespace Distill.Generation.Runner;

/// <summary>
/// One teacher's part of a run: the recipe bound to that teacher, its response cache, its own budget, and the judge and
/// logprobs-optional wrapper that go through it. A routed run has one per teacher its tasks go to.
/// </summary>
public sealed record TeacherRoute
{
    /// <summary>The configured name of the teacher the tasks are routed to (the router's answer).</summary>
    public required string Teacher { get; init; }

    /// <summary>The run's recipe, calling this teacher.</summary>
    public required IRecipe Recipe { get; init; }

    /// <summary>The cache in front of this teacher: its meter is this route's usage and cost.</summary>
    public required CachingTeacher Cache { get; init; }

    /// <summary>
    /// The teacher's own budget (its <c>BudgetUsd</c>): the ledger its <see cref="BudgetedTeacher"/> reserves from. Once it is
    /// exhausted, the runner starts none of this route's tasks; they stay uncommitted for the next run.
    /// </summary>
    public BudgetLedger? Budget { get; init; }

    /// <summary>LLM-as-judge for this route's accepted samples, through this teacher.</summary>
    public LlmJudge? Judge { get; init; }

    /// <summary><c>--logprobs-optional</c> wrapper of this teacher, whose refusals the manifest records.</summary>
    public LogprobsOptionalTeacher? LogprobsOptional { get; init; }
}

/// <summary>One teacher's share of a run so far.</summary>
/// <param name="Teacher">The configured teacher name the tasks were routed to (a fallback may have answered some).</param>
/// <param name="Tasks">Tasks of this run routed to the teacher (committed ones skipped).</param>
/// <param name="Uncommitted">Tasks left for the next run (teacher down, its budget spent, ...).</param>
/// <param name="TeacherCalls">Requests that went to the teacher (cache hits not counted).</param>
/// <param name="CostUsd">Cost of those requests, rejects' included.</param>
/// <param name="Budget">The teacher's own budget account; null without one.</param>
public sealed record TeacherProgress(string Teacher, int Tasks, int Accepted, int Rejected, int Uncommitted, int TeacherCalls, double CostUsd, BudgetSnapshot? Budget)
{
    /// <summary>What one kept sample of this teacher cost (its rejects were paid for too); null before any was accepted.</summary>
    public double? CostPerAccepted => Accepted > 0 ? CostUsd / Accepted : null;
}

/// <summary>The runner's running counts for one route; changed under its commit lock only.</summary>
internal sealed class TeacherCounts
{
    public int Tasks { get; init; }
    public int Accepted { get; set; }
    public int Rejected { get; set; }
    public int Uncommitted { get; set; }

    public TeacherProgress Progress(TeacherRoute route) =>
        new(route.Teacher, Tasks, Accepted, Rejected, Uncommitted, route.Cache.TeacherCalls, route.Cache.Meter.Total.CostUsd, route.Budget?.Snapshot());
}
