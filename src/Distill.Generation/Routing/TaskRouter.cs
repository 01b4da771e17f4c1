using Distill.Core.Errors;
using Distill.Generation.Recipes;

namespace Distill.Generation.Routing;

/// <summary>
/// Which teacher generates each task of a run: one teacher for all (<see cref="Single"/>), or a routing table applied to a field
/// of the task (<see cref="Create"/>). Deterministic: a task routes to the same teacher in every run with the same table, so a
/// resumed run gives the tasks it still has to do to the teachers the first run would have.
/// </summary>
public sealed class TaskRouter
{
    private readonly RouteField? _field;
    private readonly IReadOnlyDictionary<string, string> _routes;
    private readonly string _recipe;
    private readonly IReadOnlyDictionary<string, object?> _variables;

    private TaskRouter(string? name, RouteField? field, IReadOnlyDictionary<string, string> routes, string defaultTeacher, string recipe,
        IReadOnlyDictionary<string, object?> variables)
    {
        Name = name;
        _field = field;
        _routes = routes;
        Default = defaultTeacher;
        _recipe = recipe;
        _variables = variables;
    }

    /// <summary>The routing table's name; null for a single teacher.</summary>
    public string? Name { get; }

    /// <summary>The field routed by; null for a single teacher.</summary>
    public RouteField? Field => _field;

    /// <summary>The teacher of tasks no route matches (the only teacher of <see cref="Single"/>).</summary>
    public string Default { get; }

    /// <summary>Field value -> teacher.</summary>
    public IReadOnlyDictionary<string, string> Routes => _routes;

    /// <summary>Every task goes to <paramref name="teacher"/>.</summary>
    public static TaskRouter Single(string teacher) =>
        new(null, null, new Dictionary<string, string>(StringComparer.Ordinal), teacher, "", new Dictionary<string, object?>());

    /// <summary>
    /// The table <paramref name="name"/> for a run of <paramref name="recipe"/> over <paramref name="tasks"/>. Throws a
    /// <see cref="DistillException"/> when the table is invalid for the configured <paramref name="teachers"/>, or when its
    /// field cannot route these tasks (a tag none of them carries is a typo, not a route to the default).
    /// </summary>
    public static TaskRouter Create(string name, TeacherRoutingOptions table, IReadOnlyCollection<string> teachers, string recipe,
        IReadOnlyDictionary<string, object?> variables, IReadOnlyList<SeedTask> tasks)
    {
        var problems = table.Validate(teachers);
        if (problems.Count > 0)
            throw new DistillException($"Invalid routing '{name}': {string.Join(" ", problems)}", $"fix Routing:{name} in appsettings.json");
        var field = RouteField.Parse(table.Field, out _)!;
        if (field.ProblemWith(tasks, variables) is { } problem)
            throw new DistillException($"routing '{name}' routes by {field.Text}, but {problem}",
                $"route by a field these tasks have ({RouteField.Forms}), or run with --teacher");
        return new TaskRouter(name, field, new Dictionary<string, string>(table.Routes, StringComparer.Ordinal), table.Default, recipe, variables);
    }

    /// <summary>The name of the teacher that generates <paramref name="task"/>.</summary>
    public string TeacherFor(SeedTask task) =>
        _field?.ValueOf(task, _recipe, _variables) is { } value && _routes.TryGetValue(value, out var teacher) ? teacher : Default;

    /// <summary>The teachers <paramref name="tasks"/> route to, in order of first use.</summary>
    public IReadOnlyList<string> TeachersOf(IEnumerable<SeedTask> tasks) => tasks.Select(TeacherFor).Distinct(StringComparer.Ordinal).ToList();
}
