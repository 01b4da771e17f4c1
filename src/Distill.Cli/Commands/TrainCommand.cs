using System.CommandLine;
using System.Globalization;
using System.Text;
using Distill.Cli.Composition;
using Distill.Core.Errors;
using Distill.Models.Tokenization;
using Distill.Training.Config;
using Distill.Training.Trainer;
using Spectre.Console;

namespace Distill.Cli.Commands;

/// <summary>
/// `distill train --config configs/train/world-sft.json [--set key=value ...]`: one training run from a typed config
/// (the global --config / --set options name the train config and its overrides for this command; see configs/train/).
/// Running the same command again on an existing run folder resumes exactly from its checkpoint.
/// Interactive terminals get a Spectre progress bar (step, loss, lr, tokens/s, MFU, ETA); otherwise plain log lines.
/// </summary>
public static class TrainCommand
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var command = new Command("train",
            "Distill a student (sft | topk_kd | online_kd | cot) or train a LoRA adapter from a train config: --config configs/train/<preset>.json, " +
            "--set key=value overrides (e.g. --set steps=100 --set optimizer.lr=1e-3). An existing run folder is resumed.");
        command.SetAction((parse, cancellationToken) =>
        {
            var cli = context(parse);
            var path = parse.GetValue(CliOptions.Config)
                ?? throw new DistillException("distill train needs --config <train config>", "e.g. distill train --config configs/train/world-sft.json");
            var config = TrainConfig.Load(path, parse.GetValue(CliOptions.Set) ?? []);
            config.Validate();
            if (!cli.Console.Profile.Capabilities.Interactive)
            {
                TrainerHost.Run(config, cli.Console.Profile.Out.Writer, WorldTokenizerFile, cancellationToken);
                return Task.FromResult(DistillApp.Success);
            }
            using var log = new ConsoleLineWriter(cli.Console);
            cli.Console.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask(config.Name, maxValue: config.Steps);
                    var progress = new Reporter(p =>
                    {
                        task.Value = p.Step;
                        task.Description = string.Create(CultureInfo.InvariantCulture,
                            $"{Markup.Escape(config.Name)} step {p.Step}/{p.TotalSteps} loss {p.Loss:F4} lr {p.Lr:E1} {p.TokensPerSecond:N0} tok/s mfu {p.Mfu * 100:F1}%");
                    });
                    TrainerHost.Run(config, log, WorldTokenizerFile, cancellationToken, progress);
                });
            return Task.FromResult(DistillApp.Success);
        });
        return command;
    }

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

    /// <summary>Log lines through Spectre, so they print above the live progress bar instead of through it.</summary>
    private sealed class ConsoleLineWriter(IAnsiConsole console) : TextWriter
    {
        private readonly StringBuilder _line = new();

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value)
        {
            if (value == '\n')
            {
                console.WriteLine(_line.ToString().TrimEnd('\r'));
                _line.Clear();
            }
            else
            {
                _line.Append(value);
            }
        }

        public override void WriteLine(string? value)
        {
            var text = _line.Append(value).ToString();
            _line.Clear();
            console.WriteLine(text);
        }
    }
}
