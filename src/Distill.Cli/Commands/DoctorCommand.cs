using System.CommandLine;
using System.Runtime.InteropServices;
using Distill.Core.Errors;
using Spectre.Console;

namespace Distill.Cli.Commands;

/// <summary>`distill doctor`: a table of what works on this machine, so set-up problems show before a long run.</summary>
public static class DoctorCommand
{
    public enum Status { Ok, Warning, Failed }

    public sealed record Check(string Name, Status Status, string Detail);

    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var command = new Command("doctor", "Check .NET, TorchSharp (native load, matmul speed, CUDA), configuration, teacher endpoints and disk space.");
        command.SetAction(async (parse, cancellationToken) =>
        {
            var cli = context(parse);
            var checks = await RunChecksAsync(cli, cancellationToken);
            Render(cli.Console, checks);
            return checks.Any(c => c.Status == Status.Failed) ? DistillApp.UserError : DistillApp.Success;
        });
        return command;
    }

    public static async Task<IReadOnlyList<Check>> RunChecksAsync(CliContext cli, CancellationToken cancellationToken)
    {
        var checks = new List<Check>
        {
            new(".NET", Status.Ok, $"{RuntimeInformation.FrameworkDescription} on {RuntimeInformation.OSDescription} ({RuntimeInformation.ProcessArchitecture}, {Environment.ProcessorCount} cores)"),
        };
        checks.AddRange(TorchChecks.Run());
        var configuration = CheckConfiguration(cli);
        checks.Add(configuration);
        if (configuration.Status != Status.Failed)
        {
            checks.AddRange(await TeacherChecks.RunAsync(cli.Options.Teachers, cancellationToken));
            checks.AddRange(CheckDisk(cli));
        }
        return checks;
    }

    private static Check CheckConfiguration(CliContext cli)
    {
        try
        {
            _ = cli.Options;
            return new("configuration", Status.Ok, cli.SettingsFile ?? "no appsettings.json found: built-in defaults");
        }
        catch (DistillException e)
        {
            return new("configuration", Status.Failed, e.Message);
        }
    }

    private static IEnumerable<Check> CheckDisk(CliContext cli)
    {
        var paths = cli.Options.Paths;
        foreach (var (name, folder) in new[] { ("datasets", paths.Datasets), ("runs", paths.Runs), ("cache", paths.Cache) })
        {
            var full = Path.GetFullPath(folder);
            var existing = full;
            while (!Directory.Exists(existing) && Path.GetDirectoryName(existing) is { } parent)
            {
                existing = parent;
            }
            var free = new DriveInfo(existing).AvailableFreeSpace;
            var gib = free / (1024.0 * 1024 * 1024);
            var status = gib < 1 ? Status.Failed : gib < 10 ? Status.Warning : Status.Ok;
            yield return new($"disk ({name})", status, $"{full}: {gib:F1} GiB free");
        }
    }

    private static void Render(IAnsiConsole console, IReadOnlyList<Check> checks)
    {
        var table = new Table().RoundedBorder().AddColumn("check").AddColumn("status").AddColumn("detail");
        foreach (var check in checks)
        {
            var status = check.Status switch
            {
                Status.Ok => "[green]ok[/]",
                Status.Warning => "[yellow]warning[/]",
                _ => "[red]failed[/]",
            };
            table.AddRow(Markup.Escape(check.Name), status, Markup.Escape(check.Detail));
        }
        console.Write(table);
    }
}
