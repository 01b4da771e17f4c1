using Distill.Core.Errors;

namespace Distill.Core.Configuration;

/// <summary>The configuration is invalid; every problem found is listed, each naming the key and where it came from.</summary>
public sealed class ConfigurationException : DistillException
{
    /// <summary>Problems with the settings (appsettings.json, environment, user secrets, --set).</summary>
    public ConfigurationException(IReadOnlyList<ConfigurationProblem> problems)
        : this(problems, "configuration", "Fix the setting(s) named above; `distill doctor` checks the whole configuration.")
    {
    }

    /// <summary>Problems with another configuration file, e.g. <paramref name="what"/> "train config".</summary>
    public ConfigurationException(IReadOnlyList<ConfigurationProblem> problems, string what, string fix)
        : base(Describe(problems, what), fix)
    {
        Problems = problems;
    }

    public IReadOnlyList<ConfigurationProblem> Problems { get; }

    private static string Describe(IReadOnlyList<ConfigurationProblem> problems, string what) => problems.Count == 1
        ? $"Invalid {what}: {problems[0]}"
        : $"Invalid {what} ({problems.Count} problems): " + string.Join("; ", problems);
}
