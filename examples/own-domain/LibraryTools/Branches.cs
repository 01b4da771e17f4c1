namespace LibraryTools;

/// <summary>The library's branches and their opening hours.</summary>
internal static class Branches
{
    private static readonly Dictionary<string, string> Hours = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Riverside"] = "Monday to Friday 09:00-20:00, Saturday 10:00-16:00, closed on Sunday",
        ["Hillcrest"] = "Tuesday to Saturday 10:00-18:00, closed on Sunday and Monday",
        ["Old Town"] = "Monday to Saturday 08:30-17:30, Sunday 12:00-16:00",
    };

    public static string Describe(string branch)
    {
        var name = branch.Trim();
        if (name.EndsWith(" branch", StringComparison.OrdinalIgnoreCase)) name = name[..^" branch".Length];
        return Hours.TryGetValue(name, out var hours)
            ? $"{Hours.Keys.First(k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase))} branch: {hours}."
            : $"There is no branch called '{branch}'; the branches are {string.Join(", ", Hours.Keys)}.";
    }
}
