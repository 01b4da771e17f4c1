using System.Globalization;
using Distill.Generation.Recipes;

namespace Distill.Generation.Routing;

/// <summary>
/// The task field a routing table routes by, written in configuration as one of:
/// <c>tier</c> (the task's <c>tier</c> tag: the embedded world's T0..T4), <c>tag:NAME</c> (any tag of the task),
/// <c>kind</c> (the run's recipe: instruction, cot, tool_trace, dialogue) or <c>var:NAME</c> (a template variable given with
/// <c>--vars</c> or by the task domain).
/// </summary>
/// <param name="Text">The field as written in configuration.</param>
public abstract record RouteField(string Text)
{
    /// <summary>The forms a field may take, for messages.</summary>
    public const string Forms = "tier, kind, tag:NAME or var:NAME";

    /// <summary>The field <paramref name="text"/> names, or null with the reason it names none.</summary>
    public static RouteField? Parse(string? text, out string? problem)
    {
        problem = null;
        var t = text?.Trim() ?? "";
        if (t == "tier") return new Tag(t, "tier");
        if (t == "kind") return new Kind(t);
        if (t.StartsWith("tag:", StringComparison.Ordinal) && t.Length > 4) return new Tag(t, t[4..]);
        if (t.StartsWith("var:", StringComparison.Ordinal) && t.Length > 4) return new Variable(t, t[4..]);
        problem = t.Length == 0 ? $"Field is empty; route by one of {Forms}" : $"Field '{t}' is not a task field; route by one of {Forms}";
        return null;
    }

    /// <summary>This field's value for <paramref name="task"/> in a run of <paramref name="recipe"/>; null when the task has none.</summary>
    public abstract string? ValueOf(SeedTask task, string recipe, IReadOnlyDictionary<string, object?> variables);

    /// <summary>Why this field cannot route the run's tasks (a tag no task carries, a variable never given); null when it can.</summary>
    public abstract string? ProblemWith(IReadOnlyList<SeedTask> tasks, IReadOnlyDictionary<string, object?> variables);

    /// <summary>A tag of the task (<c>tier</c> is the tag of the same name).</summary>
    public sealed record Tag(string Text, string Name) : RouteField(Text)
    {
        public override string? ValueOf(SeedTask task, string recipe, IReadOnlyDictionary<string, object?> variables) =>
            task.Tags?.GetValueOrDefault(Name);

        public override string? ProblemWith(IReadOnlyList<SeedTask> tasks, IReadOnlyDictionary<string, object?> variables)
        {
            if (tasks.Count == 0 || tasks.Any(t => t.Tags?.ContainsKey(Name) == true)) return null;
            var present = tasks.SelectMany(t => t.Tags?.Keys ?? []).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            return $"no task has the tag '{Name}' (tags present: {(present.Count == 0 ? "none" : string.Join(", ", present))})";
        }
    }

    /// <summary>The run's recipe, which is the <c>kind</c> of every row it writes.</summary>
    public sealed record Kind(string Text) : RouteField(Text)
    {
        public override string? ValueOf(SeedTask task, string recipe, IReadOnlyDictionary<string, object?> variables) => recipe;

        public override string? ProblemWith(IReadOnlyList<SeedTask> tasks, IReadOnlyDictionary<string, object?> variables) => null;
    }

    /// <summary>A template variable of the run (<c>--vars name=value</c>, or the domain's).</summary>
    public sealed record Variable(string Text, string Name) : RouteField(Text)
    {
        public override string? ValueOf(SeedTask task, string recipe, IReadOnlyDictionary<string, object?> variables) =>
            variables.TryGetValue(Name, out var value) ? Convert.ToString(value, CultureInfo.InvariantCulture) : null;

        public override string? ProblemWith(IReadOnlyList<SeedTask> tasks, IReadOnlyDictionary<string, object?> variables) =>
            variables.ContainsKey(Name) ? null
                : $"the template variable '{Name}' is not given (variables: {(variables.Count == 0 ? "none" : string.Join(", ", variables.Keys.Order(StringComparer.Ordinal)))}); pass it with --vars {Name}=VALUE";
    }
}
