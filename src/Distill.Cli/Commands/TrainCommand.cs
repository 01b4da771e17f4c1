using System.CommandLine;
using System.Globalization;
using Distill.Cli.Composition;
using Distill.Core.Errors;
using Distill.Models.Tokenization;
using Distill.Training.Config;
using Distill.Training.Trainer;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace Distill.Cli.Commands;

/// <summary>
/// `distill train configs/train/world-sft.json [--set optimizer:lr=1e-3 ...]`: one training run from a typed train config, with
/// `--set` overriding its keys (the global --config keeps naming the settings file, as for every command). Running the same
/// command again on an existing run folder resumes exactly from its checkpoint. Interactive terminals get a Spectre progress bar
/// (step, loss, lr, tokens/s, MFU, ETA) with the log lines above it; otherwise plain log lines.
/// </summary>
public static class TrainCommand
{
    public static readonly Argument<string?> ConfigFile = new("train-config")
    {
        Description = "The train config (JSON), e.g. configs/train/world-sft.json; every key is described in configs/train/README.md.",
        Arity = ArgumentArity.ZeroOrOne,
    };

    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var command = new Command("train",
            "Distill a student (sft | topk_kd | online_kd | cot) or train a LoRA adapter: distill train <train-config.json> " +
            "[--set section:key=value ...] (e.g. --set steps=100 --set optimizer:lr=1e-3; optimizer.lr also works). " +
            "An existing run folder is resumed.")
        {
            ConfigFile,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var cli = context(parse);
            var config = TrainConfig.Load(ConfigPath(parse, cli), parse.GetValue(CliOptions.Set) ?? []);
            config.Validate();
            if (!cli.Console.Profile.Capabilities.Interactive)
            {
                var output = cli.Console.Profile.Out.Writer;
                await TrainerHost.RunAsync(config, Logger(cli, output.WriteLine), WorldTokenizerFile, cancellationToken);
                return DistillApp.Success;
            }
            await cli.Console.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .StartAsync(async ctx =>
                {
                    var task = ctx.AddTask(config.Name, maxValue: config.Steps);
                    var progress = new Reporter(p =>
                    {
                        task.Value = p.Step;
                        task.Description = string.Create(CultureInfo.InvariantCulture,
                            $"{Markup.Escape(config.Name)} step {p.Step}/{p.TotalSteps} loss {p.Loss:F4} lr {p.Lr:E1} {p.TokensPerSecond:N0} tok/s mfu {p.Mfu * 100:F1}%");
                    });
                    // Lines through Spectre print above the live progress bar instead of through it.
                    await TrainerHost.RunAsync(config, Logger(cli, cli.Console.WriteLine), WorldTokenizerFile, cancellationToken, progress);
                });
            return DistillApp.Success;
        });
        return command;
    }

    /// <summary>
    /// The positional train config; the old `distill train --config file` still works for one release, with a warning, when no
    /// positional file is given (then --config cannot have meant a settings file: train reads none).
    /// </summary>
    private static string ConfigPath(ParseResult parse, CliContext cli)
    {
        if (parse.GetValue(ConfigFile) is { } path)
        {
            var shipped = ShippedConfig(path, Directory.GetCurrentDirectory(), AppContext.BaseDirectory);
            if (shipped != path)
                cli.Error.WriteLine($"train config '{path}' is not in the current folder: using the one shipped with distill, {shipped}");
            return shipped;
        }
        if (parse.GetValue(CliOptions.Config) is { } legacy)
        {
            cli.Error.WriteLine($"warning: `distill train --config {legacy}` is deprecated and will stop working in the next release: " +
                $"write `distill train {legacy}` (--config names the settings file for every command)");
            return legacy;
        }
        throw new DistillException("distill train needs a train config", "e.g. distill train configs/train/world-sft.json");
    }

    /// <summary>
    /// The train configs under configs/ ship beside the program, so `distill train configs/train/world-sft.json` (the README's
    /// tour) runs from an installed tool too: a relative path under configs/ that the current folder lacks but the program's
    /// folder has is read from there (its datasets and output folders stay relative to the current folder). Any other path is
    /// returned as given, so a missing file keeps its clear error.
    /// </summary>
    public static string ShippedConfig(string path, string currentFolder, string programFolder)
    {
        if (Path.IsPathRooted(path) || File.Exists(Path.Combine(currentFolder, path))) return path;
        var relative = Path.GetRelativePath(currentFolder, Path.GetFullPath(path, currentFolder)).Replace('\\', '/');
        if (!relative.StartsWith("configs/", StringComparison.Ordinal)) return path;
        var shipped = Path.Combine(programFolder, relative);
        return File.Exists(shipped) ? shipped : path;
    }

    /// <summary>The training log as plain lines (<see cref="LineLogger"/>); --verbose adds the debug lines.</summary>
    private static ILogger Logger(CliContext cli, Action<string> writeLine) =>
        new LineLogger(writeLine, cli.Verbose ? LogLevel.Debug : LogLevel.Information);

    /// <summary>student.tokenizer = "world": train the embedded world's tokenizer once and keep it in the run folder.</summary>
    internal static string WorldTokenizerFile(string spec, string runDir)
    {
        if (spec != "world")
            throw new DistillException($"student.tokenizer '{spec}' is neither a file nor \"world\"", "pass a tokenizer.json path or \"world\"");
        var path = Path.Combine(runDir, "tokenizer.json");
        if (!File.Exists(path)) TokenizerJsonWriter.WriteFile(WorldTokenizer.Train(), path);
        return path;
    }

    /// <summary>Calls back synchronously on the training thread (Progress&lt;T&gt; would post to a sync context).</summary>
    private sealed class Reporter(Action<TrainProgress> report) : IProgress<TrainProgress>
    {
        public void Report(TrainProgress value) => report(value);
    }
}
