using System.CommandLine;
using Distill.Core.Errors;
using Distill.Models.Checkpoints;
using Distill.Models.Lora;
using Distill.Models.Native;
using Spectre.Console;

namespace Distill.Cli.Commands;

/// <summary>`distill lora merge --model base --adapter dir --out dir`: fold a PEFT LoRA adapter into a plain model folder.</summary>
public static class LoraCommand
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var command = new Command("lora", "Work with LoRA adapters (PEFT format: adapter_config.json + adapter_model.safetensors).");
        var model = new Option<string>("--model") { Description = "Base model folder the adapter was trained on.", Required = true };
        var adapter = new Option<string>("--adapter") { Description = "Adapter folder (a LoRA run folder).", Required = true };
        var output = new Option<string>("--out") { Description = "Merged model folder to write.", Required = true };
        var merge = new Command("merge", "Write base + adapter as one model folder (W + alpha/r * B A), servable by `distill serve`.") { model, adapter, output };
        merge.SetAction(parse =>
        {
            var cli = context(parse);
            TorchNative.EnsureLoaded();
            var baseDir = parse.GetValue(model)!;
            var adapterDir = parse.GetValue(adapter)!;
            if (!File.Exists(Path.Combine(baseDir, ModelFolder.ConfigFile)))
                throw new DistillException($"'{baseDir}' is not a model folder: {ModelFolder.ConfigFile} is missing", "pass the model the adapter was trained on");
            var outDir = Path.GetFullPath(parse.GetValue(output)!);
            PeftAdapter.Merge(baseDir, adapterDir, outDir);
            cli.Console.MarkupLineInterpolated($"[green]Merged[/] {adapterDir} into {baseDir} -> {outDir}");
            return DistillApp.Success;
        });
        command.Subcommands.Add(merge);
        return command;
    }
}
