using Distill.Core.Errors;
using Distill.Generation.Recipes;
using Distill.Generation.Routing;

namespace Distill.Generation.Tests.Routing;

public sealed class TaskRouterTests
{
    private static readonly string[] Teachers = ["cheap", "mid", "strong"];
    private static readonly Dictionary<string, object?> NoVariables = new();

    private static SeedTask Task(string id, string? tier) =>
        new(id, $"question {id}", Tags: tier is null ? null : new Dictionary<string, string> { ["tier"] = tier, ["phrasing"] = "seen" });

    private static readonly IReadOnlyList<SeedTask> Tasks = [Task("a", "T0"), Task("b", "T1"), Task("c", "T2"), Task("d", "T3"), Task("e", null)];

    private static TeacherRoutingOptions ByTier() => new()
    {
        Field = "tier",
        Routes = new() { ["T0"] = "cheap", ["T1"] = "cheap", ["T2"] = "mid" },
        Default = "strong",
    };

    private static TaskRouter Create(TeacherRoutingOptions table, IReadOnlyList<SeedTask>? tasks = null, string recipe = "cot",
        Dictionary<string, object?>? variables = null) =>
        TaskRouter.Create("by-tier", table, Teachers, recipe, variables ?? NoVariables, tasks ?? Tasks);

    [Fact]
    public void Tier_routes_each_task_to_its_teacher_and_the_rest_to_the_default()
    {
        var router = Create(ByTier());

        Assert.Equal(["cheap", "cheap", "mid", "strong", "strong"], Tasks.Select(router.TeacherFor));
        Assert.Equal(["cheap", "mid", "strong"], router.TeachersOf(Tasks));
    }

    [Fact]
    public void A_tag_field_routes_by_any_tag_and_a_value_is_matched_exactly()
    {
        var router = Create(new() { Field = "tag:phrasing", Routes = new() { ["seen"] = "cheap", ["Unseen"] = "mid" }, Default = "strong" });

        Assert.Equal("cheap", router.TeacherFor(Task("x", "T4")));
        Assert.Equal("strong", router.TeacherFor(Task("y", null)));
        Assert.Equal("strong", router.TeacherFor(new SeedTask("z", "q", Tags: new Dictionary<string, string> { ["phrasing"] = "unseen" })));
    }

    [Fact]
    public void Kind_routes_by_the_runs_recipe_and_var_by_a_template_variable()
    {
        var table = new TeacherRoutingOptions { Field = "kind", Routes = new() { ["cot"] = "strong" }, Default = "cheap" };
        Assert.Equal("strong", Create(table, recipe: "cot").TeacherFor(Tasks[0]));
        Assert.Equal("cheap", Create(table, recipe: "instruction").TeacherFor(Tasks[0]));

        var byVariable = new TeacherRoutingOptions { Field = "var:difficulty", Routes = new() { ["hard"] = "strong" }, Default = "mid" };
        Assert.Equal("strong", Create(byVariable, variables: new() { ["difficulty"] = "hard" }).TeacherFor(Tasks[0]));
        Assert.Equal("mid", Create(byVariable, variables: new() { ["difficulty"] = "easy" }).TeacherFor(Tasks[0]));
    }

    [Fact]
    public void A_single_teacher_takes_every_task()
    {
        var router = TaskRouter.Single("strong");

        Assert.All(Tasks, t => Assert.Equal("strong", router.TeacherFor(t)));
        Assert.Null(router.Name);
    }

    [Theory]
    [InlineData("tiers", "Field 'tiers' is not a task field; route by one of tier, kind, tag:NAME or var:NAME.")]
    [InlineData("", "Field is empty; route by one of tier, kind, tag:NAME or var:NAME.")]
    [InlineData("tag:", "Field 'tag:' is not a task field")]
    public void An_unknown_field_is_named_in_the_problems(string field, string expected)
    {
        var table = ByTier();
        table.Field = field;

        Assert.Contains(table.Validate(Teachers), p => p.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void A_missing_default_and_unknown_teachers_are_each_a_problem()
    {
        var table = new TeacherRoutingOptions { Field = "tier", Routes = new() { ["T0"] = "cheep", ["T1"] = "cheap" } };

        var problems = table.Validate(Teachers);

        Assert.Equal(2, problems.Count);
        Assert.Contains("Default is missing; name the teacher of the tasks no route matches.", problems);
        Assert.Contains("route 'T0' names teacher 'cheep', which is not configured (teachers: cheap, mid, strong).", problems);
        table.Default = "gpt-5";
        Assert.Contains("Default teacher 'gpt-5' is not configured (teachers: cheap, mid, strong).", table.Validate(Teachers));
        Assert.Empty(ByTier().Validate(Teachers));
    }

    [Fact]
    public void Create_refuses_an_invalid_table_with_one_line_naming_it()
    {
        var table = ByTier();
        table.Default = "";

        var e = Assert.Throws<DistillException>(() => Create(table));

        Assert.StartsWith("Invalid routing 'by-tier': Default is missing", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void A_tag_no_task_carries_is_a_typo_not_a_route_to_the_default()
    {
        var table = ByTier();
        table.Field = "tag:teir";

        var e = Assert.Throws<DistillException>(() => Create(table));

        Assert.Contains("no task has the tag 'teir' (tags present: phrasing, tier)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_variable_that_is_never_given_is_refused_with_how_to_give_it()
    {
        var table = ByTier();
        table.Field = "var:difficulty";

        var e = Assert.Throws<DistillException>(() => Create(table));

        Assert.Contains("pass it with --vars difficulty=VALUE", e.Message, StringComparison.Ordinal);
    }
}
