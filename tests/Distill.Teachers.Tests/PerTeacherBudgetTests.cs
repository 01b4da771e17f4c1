using Distill.Core.Samples;

namespace Distill.Teachers.Tests;

/// <summary>A teacher's own BudgetUsd: validated, and applied to the teacher wherever a fallback chain reaches it.</summary>
public sealed class PerTeacherBudgetTests
{
    private static TeacherOptions Local(string name, string? fallback = null) => new()
    {
        Name = name,
        Endpoint = "http://127.0.0.1:8000/v1",
        Model = $"{name}-model",
        FallbackTeacher = fallback,
    };

    [Theory]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void A_budget_that_is_not_a_finite_amount_of_at_least_0_is_a_problem(double budget)
    {
        var o = Local("a");
        o.BudgetUsd = budget;

        Assert.Contains(o.Validate(), p => p.Contains("teacher 'a': BudgetUsd must be a finite amount of at least 0", StringComparison.Ordinal));
    }

    [Fact]
    public void A_budget_of_0_or_none_is_valid()
    {
        var o = Local("a");
        Assert.Empty(o.Validate());
        o.BudgetUsd = 0;
        Assert.Empty(o.Validate());
    }

    [Fact]
    public void Get_with_a_wrapper_wraps_every_teacher_of_the_fallback_chain_before_chaining_it()
    {
        using var registry = TeacherRegistry.Create([Local("a", fallback: "b"), Local("b", fallback: "c"), Local("c")]);
        var wrapped = new List<string>();
        var ledgers = new Dictionary<string, BudgetLedger> { ["a"] = new(1), ["c"] = new(2) };

        var teacher = registry.Get("a", (name, client) =>
        {
            wrapped.Add(name);
            return ledgers.TryGetValue(name, out var ledger) ? new BudgetedTeacher(client, ledger, WorstCaseCost.Highest([registry.OptionsOf(name)])) : client;
        });

        Assert.Equal(["a", "b", "c"], wrapped);
        var first = Assert.IsType<FallbackTeacher>(teacher);
        Assert.Same(ledgers["a"], Assert.IsType<BudgetedTeacher>(first.Primary).Ledger);
        var second = Assert.IsType<FallbackTeacher>(first.Fallback);
        Assert.IsNotType<BudgetedTeacher>(second.Primary);
        Assert.Same(ledgers["c"], Assert.IsType<BudgetedTeacher>(second.Fallback).Ledger);
        Assert.Equal(new TeacherInfo(TeacherProviders.OpenAICompatible, "a-model", null), teacher.Info);
    }

    [Fact]
    public async Task A_spent_teacher_budget_names_the_teachers_BudgetUsd_in_its_fix()
    {
        var options = Local("a");
        options.OutputPricePer1M = 1; // any request costs more than nothing
        using var registry = TeacherRegistry.Create([options]);
        var ledger = new BudgetLedger(0);
        var teacher = new BudgetedTeacher(registry.Get("a"), ledger, WorstCaseCost.Highest([options]), "the BudgetUsd of teacher 'a'");

        var e = await Assert.ThrowsAsync<BudgetExhaustedException>(() => teacher.CompleteAsync(TestTeachers.Ask("hi")));

        Assert.Equal("raise the BudgetUsd of teacher 'a' and run again to continue", e.Hint);
        Assert.True(ledger.Exhausted);
    }
}
