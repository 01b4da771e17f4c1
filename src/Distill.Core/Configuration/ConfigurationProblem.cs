namespace Distill.Core.Configuration;

/// <summary>One thing wrong with the configuration, located so the user can fix it.</summary>
/// <param name="Key">The setting's path, e.g. "Teachers:azure:Endpoint".</param>
/// <param name="Source">Where the value came from, e.g. "appsettings.json" or "environment variable DISTILL__Paths__Runs".</param>
public sealed record ConfigurationProblem(string Key, string? Source, string Message)
{
    public override string ToString() => Source is null
        ? $"setting '{Key}': {Message}"
        : $"setting '{Key}' in {Source}: {Message}";
}
