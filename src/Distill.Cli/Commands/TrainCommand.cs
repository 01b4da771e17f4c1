using System.CommandLine;
using Distill.Cli.Composition;
using Distill.Core.Errors;
using Distill.Models.Tokenization;
using Distill.Training.Config;
using Distill.Training.Trainer;

namespace Distill.Cli.Commands;

/// <summary>
/// `distill train --config configs/train/world-sft.json [--set key=value ...]`: one training run from a typed config
/// (the global --config / --set options name the train config and its overrides for this command; see configs/train/).
/// Running the same command again on an existing run folder resumes exactly from its checkpoint.
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
            var log = cli.Console.Profile.Out.Writer;
            TrainerHost.Run(config, log, WorldTokenizerFile, cancellationToken);
            return Task.FromResult(DistillApp.Success);
        });
        return command;
    }

    /// <summary>student.tokenizer = "world": train the embedded world's tokenizer once and keep it in the run folder.</summary>
    private static string WorldTokenizerFile(string spec, string runDir)
    {
        if (spec != "world")
            throw new DistillException($"student.tokenizer '{spec}' is neither a file nor \"world\"", "pass a tokenizer.json path or \"world\"");
        var path = Path.Combine(runDir, "tokenizer.json");
        if (!File.Exists(path)) TokenizerJsonWriter.WriteFile(WorldTokenizer.Train(), path);
        return path;
    }
}
