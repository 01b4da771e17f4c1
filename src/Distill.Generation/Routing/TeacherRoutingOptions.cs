namespace Distill.Generation.Routing;

/// <summary>
/// One routing table of appsettings.json's <c>Routing</c> section, chosen with <c>distill generate --routing NAME</c>: which
/// configured teacher generates each task, by one field of the task. Tasks whose value has no route, or that lack the field,
/// go to <see cref="Default"/>. Example: <c>{ "Field": "tier", "Routes": { "T0": "cheap", "T1": "cheap" }, "Default": "strong" }</c>.
/// </summary>
public sealed class TeacherRoutingOptions
{
    /// <summary>What to route by: <c>tier</c>, <c>kind</c>, <c>tag:NAME</c> or <c>var:NAME</c> (see <see cref="RouteField"/>).</summary>
    public string Field { get; set; } = "";

    /// <summary>Value of the field (matched exactly, case included) -> name of a configured teacher.</summary>
    public Dictionary<string, string> Routes { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The teacher of every task no route matches. Required, so no task is left without a teacher.</summary>
    public string Default { get; set; } = "";

    /// <summary>Every problem with this table, as sentences (the caller names the table); empty when valid.</summary>
    /// <param name="teachers">Names of the configured teachers.</param>
    public IReadOnlyList<string> Validate(IReadOnlyCollection<string> teachers)
    {
        var problems = new List<string>();
        if (RouteField.Parse(Field, out var fieldProblem) is null) problems.Add($"{fieldProblem}.");
        if (string.IsNullOrWhiteSpace(Default))
            problems.Add("Default is missing; name the teacher of the tasks no route matches.");
        else if (!teachers.Contains(Default))
            problems.Add($"Default teacher '{Default}' is not configured (teachers: {Names(teachers)}).");
        foreach (var (value, teacher) in Routes.OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            if (!teachers.Contains(teacher))
                problems.Add($"route '{value}' names teacher '{teacher}', which is not configured (teachers: {Names(teachers)}).");
        }
        return problems;
    }

    private static string Names(IReadOnlyCollection<string> teachers) => teachers.Count == 0 ? "none" : string.Join(", ", teachers);
}
