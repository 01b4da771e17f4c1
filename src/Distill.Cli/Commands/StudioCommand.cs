using System.CommandLine;
using Distill.Core.Errors;
using Distill.Studio;
using Spectre.Console;

namespace Distill.Cli.Commands;

/// <summary>`distill studio [--data DIR ...] [--host H] [--port P]`: browse, filter and curate samples in a browser until Ctrl+C.</summary>
public static class StudioCommand
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var data = new Option<string[]>("--data") { Description = "Dataset folders, or folders holding them (repeatable; default Paths:Datasets)." };
        var runs = new Option<string[]>("--runs") { Description = "Folders searched for evaluations of students trained on each template version (default Paths:Runs)." };
        var host = new Option<string>("--host") { Description = $"Address to bind. Anything but loopback needs the token in {StudioOptions.TokenEnv}.", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "Port (0 picks a free one).", DefaultValueFactory = _ => 8790 };
        var command = new Command("studio", "Curation studio in the browser: browse and filter samples and rejects, view them as conversations with the teacher's token probabilities, accept, reject or edit (decisions go to <dataset>/curation.jsonl).")
        {
            data, runs, host, port,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var cli = context(parse);
            var roots = parse.GetValue(data) is { Length: > 0 } d ? d : [cli.Options.Paths.Datasets];
            foreach (var root in roots)
            {
                if (!Directory.Exists(root))
                    throw new DistillException($"'{Path.GetFullPath(root)}' is not a folder.", "Pass --data <folder with datasets>, or generate one with `distill generate`.");
            }
            var token = Environment.GetEnvironmentVariable(StudioOptions.TokenEnv);
            var options = new StudioOptions
            {
                DataRoots = roots,
                RunRoots = parse.GetValue(runs) is { Length: > 0 } r ? r : [cli.Options.Paths.Runs],
                Domains = cli.Domains.All,
                Host = parse.GetValue(host)!,
                Port = parse.GetValue(port),
                Token = string.IsNullOrEmpty(token) ? null : token,
            };
            await using var app = StudioServer.Build(options, cli.LoggerFactory);
            await app.StartAsync(cancellationToken);
            foreach (var url in app.Urls)
            {
                cli.Console.MarkupLineInterpolated($"Studio at [bold]{url}/[/]{(options.Token is null ? "" : $" (open {url}/?token=<{StudioOptions.TokenEnv}> once)")}; Ctrl+C to stop");
            }
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C: every decision is already on disk.
            }
            await app.StopAsync(CancellationToken.None);
            return DistillApp.Success;
        });
        return command;
    }
}
