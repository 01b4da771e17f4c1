using System.CommandLine;

namespace Distill.Cli;

/// <summary>Options every command accepts.</summary>
public static class CliOptions
{
    public static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "Show debug logs and stack traces.",
        Recursive = true,
    };

    public static readonly Option<string?> Config = new("--config")
    {
        Description = "Settings file to use (default: ./appsettings.json, then the one beside the program).",
        Recursive = true,
    };

    public static readonly Option<string?> Environment = new("--environment")
    {
        Description = "Also load appsettings.{ENVIRONMENT}.json (default: $DISTILL_ENVIRONMENT).",
        Recursive = true,
    };

    public static readonly Option<string[]> Set = new("--set")
    {
        Description = "Override a setting, Section:Key=value (Section.Key also works), e.g. --set Paths:Runs=/data/runs (repeatable); " +
            "for `distill train`, a key of the train config, e.g. --set optimizer:lr=1e-3.",
        Recursive = true,
        AllowMultipleArgumentsPerToken = false,
    };
}
