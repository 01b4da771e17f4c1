using System.CommandLine;
using System.Runtime.InteropServices;
using Distill.Cli.Commands;
using Distill.Core.Configuration;
using Distill.Core.Errors;
using Spectre.Console;

namespace Distill.Cli;

/// <summary>
/// The `distill` command. Exit codes: 0 success, 1 a problem the user can fix (one line: what is wrong, what to do),
/// 2 an internal error (a bug: full details with --verbose), 130 cancelled with Ctrl+C.
/// </summary>
public static class DistillApp
{
    public const int Success = 0;
    public const int UserError = 1;
    public const int InternalError = 2;
    public const int Cancelled = 130;

    /// <summary>The command's name: the csproj's AssemblyName and ToolCommandName.</summary>
    public const string CommandName = "distill";

    public static RootCommand BuildRootCommand(Func<ParseResult, CliContext> context)
    {
        var root = new RootCommand("Distill: generate distillation datasets from a teacher LLM, train small students, evaluate and serve them.");
        // The root is named after the running executable; the command lines that completion scripts send through the
        // [suggest] directive start with `distill`, which must also match when hosted under another name (tests).
        if (root.Name != CommandName) root.Aliases.Add(CommandName);
        DistillVersion.Apply(root);
        root.Options.Add(CliOptions.Verbose);
        root.Options.Add(CliOptions.Config);
        root.Options.Add(CliOptions.Environment);
        root.Options.Add(CliOptions.Set);
        root.Subcommands.Add(DoctorCommand.Create(context));
        root.Subcommands.Add(DatasetCommand.Create(context));
        root.Subcommands.Add(ModelCommand.Create(context));
        root.Subcommands.Add(ServeCommand.Create(context));
        root.Subcommands.Add(GenerateCommand.Create(context));
        root.Subcommands.Add(TemplatesCommand.Create(context));
        root.Subcommands.Add(TrainCommand.Create(context));
        root.Subcommands.Add(LoraCommand.Create(context));
        root.Subcommands.Add(EvaluateCommand.Create(context));
        root.Subcommands.Add(QuickstartCommand.Create(context));
        root.Subcommands.Add(BenchCommand.Create(context));
        root.Subcommands.Add(WorldCommand.Create(context));
        root.Subcommands.Add(StudioCommand.Create(context));
        root.Subcommands.Add(ConfigCommand.Create());
        root.Subcommands.Add(CompletionCommand.Create());
        return root;
    }

    /// <summary>
    /// The process entry point. The first Ctrl+C or SIGTERM cancels the running command, which stops at its next safe point with
    /// everything so far committed; a second one ends the process at once. (System.CommandLine's own handler is off: with a
    /// long synchronous command, a second signal made it throw from its signal callback and crash with a stack trace.)
    /// </summary>
    public static async Task<int> RunAsync(string[] args)
    {
        using var cancel = new CancellationTokenSource();
        void OnSignal(PosixSignalContext context)
        {
            if (cancel.IsCancellationRequested) return;
            context.Cancel = true;
            System.Console.Error.WriteLine("stopping at the next safe point (press Ctrl+C again to quit at once) ...");
            cancel.Cancel();
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        return await RunAsync(args, AnsiConsole.Console, System.Console.Error, cancel.Token);
    }

    public static async Task<int> RunAsync(string[] args, IAnsiConsole console, TextWriter error,
        CancellationToken cancellationToken = default)
    {
        CliContext? created = null;
        CliContext ContextFor(ParseResult parse) => created ??= new CliContext(console, error,
            parse.GetValue(CliOptions.Verbose),
            new ConfigurationRequest(
                parse.GetValue(CliOptions.Config),
                parse.GetValue(CliOptions.Environment) ?? System.Environment.GetEnvironmentVariable("DISTILL_ENVIRONMENT"),
                parse.GetValue(CliOptions.Set) ?? [],
                UserSecretsId));

        var root = BuildRootCommand(ContextFor);
        var parseResult = root.Parse(args);
        var verbose = parseResult.GetValue(CliOptions.Verbose);
        try
        {
            var invocation = new InvocationConfiguration
            {
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = null,
                Output = console.Profile.Out.Writer,
                Error = error,
            };
            return await parseResult.InvokeAsync(invocation, cancellationToken);
        }
        catch (DistillException e)
        {
            await error.WriteLineAsync($"error: {e.OneLine}");
            if (verbose)
            {
                await error.WriteLineAsync(e.ToString());
            }
            return UserError;
        }
        catch (QuickstartCommand.QuickstartStepFailedException e)
        {
            // The stage printed its own one-line error; say where the pipeline stopped and how to continue.
            await error.WriteLineAsync($"quickstart stopped: {e.Message}; fix the problem above and run quickstart again to resume.");
            return e.ExitCode;
        }
        catch (OperationCanceledException)
        {
            await error.WriteLineAsync("cancelled: everything committed so far is kept; run the same command again to resume.");
            return Cancelled;
        }
        catch (Exception e)
        {
            await error.WriteLineAsync(verbose
                ? $"internal error: {e}"
                : $"internal error: {e.GetType().Name}: {e.Message} (this is a bug; run again with --verbose for details)");
            return InternalError;
        }
        finally
        {
            created?.LoggerFactory.Dispose();
        }
    }

    /// <summary>Matches the csproj's UserSecretsId so `dotnet user-secrets set` feeds API keys to the CLI.</summary>
    public const string UserSecretsId = "distill-cli-5f2d7c1e";
}
