using Distill.Core.Errors;

namespace Distill.Core.Configuration;

/// <summary>The configuration is invalid; every problem found is listed, each naming the key and where it came from.</summary>
public sealed class ConfigurationException(IReadOnlyList<ConfigurationProblem> problems)
    : DistillException(Describe(problems), "Fix the setting(s) named above; `distill doctor` checks the whole configuration.")
{
    public IReadOnlyList<ConfigurationProblem> Problems { get; } = problems;

    private static string Describe(IReadOnlyList<ConfigurationProblem> problems) => problems.Count == 1
        ? $"Invalid configuration: {problems[0]}"
        : $"Invalid configuration ({problems.Count} problems): " + string.Join("; ", problems);
}
