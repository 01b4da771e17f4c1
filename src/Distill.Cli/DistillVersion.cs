using System.CommandLine;
using System.CommandLine.Invocation;
using System.Reflection;

namespace Distill.Cli;

/// <summary>The version `distill --version` prints: the build props' version with the git commit the SDK appends (0.1.0+&lt;sha&gt;).</summary>
public static class DistillVersion
{
    /// <summary>Read from this assembly, not the entry assembly, so it is the CLI's version also when hosted (tests).</summary>
    public static string Informational { get; } =
        typeof(DistillVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(DistillVersion).Assembly.GetName().Version?.ToString()
        ?? "unknown";

    /// <summary>Makes the root command's built-in `--version` print <see cref="Informational"/>.</summary>
    public static void Apply(RootCommand root)
    {
        foreach (var option in root.Options.OfType<VersionOption>())
        {
            option.Action = new PrintAction();
        }
    }

    private sealed class PrintAction : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            parseResult.InvocationConfiguration.Output.WriteLine(Informational);
            return DistillApp.Success;
        }
    }
}
