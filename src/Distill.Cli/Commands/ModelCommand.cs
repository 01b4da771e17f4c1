using System.CommandLine;
using System.Text.Json;
using Distill.Cli.Composition;
using Distill.Core.Errors;
using Distill.Models.Chat;
using Distill.Models.Checkpoints;
using Distill.Models.Llama;
using Distill.Models.SafeTensors;
using Distill.Models.Tokenization;
using Distill.Training.Config;
using Spectre.Console;
using TorchSharp;

namespace Distill.Cli.Commands;

/// <summary>`distill model init|info`: create a randomly initialised model folder, and describe one.</summary>
public static class ModelCommand
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var command = new Command("model", "Create and inspect Hugging Face-style model folders.");
        command.Subcommands.Add(Init(context));
        command.Subcommands.Add(Info(context));
        return command;
    }

    private static Command Init(Func<ParseResult, CliContext> context)
    {
        var config = new Option<string>("--config") { Description = $"A preset ({string.Join(", ", ModelPresets.Names)}) or a config.json path.", Required = true };
        var output = new Option<string>("--out") { Description = "Folder to create.", Required = true };
        var tokenizerOption = new Option<string?>("--tokenizer") { Description = "tokenizer.json to use (default: train the embedded world's byte-level BPE)." };
        var seed = new Option<int>("--seed") { Description = "Seed for the random initialisation.", DefaultValueFactory = _ => 42 };
        var force = new Option<bool>("--force") { Description = "Overwrite an existing model folder." };
        var command = new Command("init", "Create a randomly initialised model folder: config.json, model.safetensors, tokenizer.json.")
        {
            config, output, tokenizerOption, seed, force,
        };
        command.SetAction(parse =>
        {
            var cli = context(parse);
            var dir = Path.GetFullPath(parse.GetValue(output)!);
            if (File.Exists(Path.Combine(dir, ModelFolder.ConfigFile)) && !parse.GetValue(force))
            {
                throw new DistillException($"'{dir}' already holds a model.", "Pass --force to overwrite it, or choose another --out.");
            }
            var device = DeviceSelection.Resolve(cli.Options.Device);
            Directory.CreateDirectory(dir);
            var tokenizerPath = Path.Combine(dir, ChatModelFolder.TokenizerFile);
            if (parse.GetValue(tokenizerOption) is { } source)
            {
                if (!File.Exists(source))
                {
                    throw new DistillException($"Tokenizer file '{source}' does not exist.", "Pass an existing tokenizer.json, or leave --tokenizer out.");
                }
                File.Copy(source, tokenizerPath, overwrite: true);
            }
            else
            {
                cli.Console.Status().Start("Training the embedded world's tokenizer...", _ =>
                    TokenizerJsonWriter.WriteFile(WorldTokenizer.Train(), tokenizerPath));
            }
            var tokenizer = TokenizerLoader.Load(tokenizerPath);

            var spec = parse.GetValue(config)!;
            var llama = File.Exists(spec) ? LlamaConfig.Load(spec) : ModelPresets.Get(spec, tokenizer.VocabSize);
            llama.VocabSize = Math.Max(llama.VocabSize, tokenizer.VocabSize);
            llama.EosTokenIdRaw = tokenizer.EosId is { } eos ? JsonSerializer.SerializeToElement(eos) : llama.EosTokenIdRaw;
            llama.PadTokenId = tokenizer.PadId ?? llama.PadTokenId;
            llama.BosTokenId = tokenizer.BosId ?? llama.BosTokenId;
            llama.Validate(spec);

            torch.manual_seed(parse.GetValue(seed));
            using var model = new LlamaForCausalLM(llama, device);
            ModelFolder.Save(model, dir);
            cli.Console.MarkupLineInterpolated($"[green]Created[/] {dir}: {model.ParameterCount:N0} parameters, vocabulary {llama.VocabSize}, tokenizer {tokenizer.TokenizerId}");
            return DistillApp.Success;
        });
        return command;
    }

    private static Command Info(Func<ParseResult, CliContext> context)
    {
        var dir = new Argument<string>("dir") { Description = "The model folder." };
        var command = new Command("info", "Print architecture, parameter count, size on disk and tokenizer id of a model folder.") { dir };
        command.SetAction(parse =>
        {
            var cli = context(parse);
            var folder = parse.GetValue(dir)!;
            var configPath = Path.Combine(folder, ModelFolder.ConfigFile);
            if (!File.Exists(configPath))
            {
                throw new DistillException($"'{folder}' is not a model folder: {ModelFolder.ConfigFile} is missing.", "Pass a folder made by `distill model init` or downloaded from the Hub.");
            }
            var config = LlamaConfig.Load(configPath);
            long parameters;
            using (var reader = CheckpointReader.Open(folder))
            {
                // Counted from the safetensors headers: no weights are loaded.
                parameters = reader.Names.Sum(name => reader.Info(name).Shape.Aggregate(1L, (a, b) => a * b));
            }
            var bytes = Directory.EnumerateFiles(folder).Sum(f => new FileInfo(f).Length);
            var tokenizerPath = Path.Combine(folder, ChatModelFolder.TokenizerFile);
            var tokenizerId = File.Exists(tokenizerPath) ? TokenizerLoader.Load(tokenizerPath).TokenizerId : "(no tokenizer.json)";

            var table = new Table().RoundedBorder().AddColumn("property").AddColumn("value");
            void Row(string name, string value) => table.AddRow(Markup.Escape(name), Markup.Escape(value));
            Row("architecture", $"{string.Join(", ", config.Architectures ?? [])} ({config.ModelType})");
            Row("layers x hidden", $"{config.NumHiddenLayers} x {config.HiddenSize} (MLP {config.IntermediateSize})");
            Row("attention heads", $"{config.NumAttentionHeads} query, {config.KeyValueHeads} key/value (head dim {config.HeadDim})");
            Row("vocabulary", config.VocabSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Row("context", $"{config.MaxPositionEmbeddings} tokens, rope theta {config.RopeTheta}");
            Row("tied embeddings", config.TieWordEmbeddings ? "yes" : "no");
            Row("parameters", $"{parameters:N0} ({parameters / 1e6:F2}M)");
            Row("dtype", config.TorchDtype ?? "float32");
            Row("size on disk", $"{bytes / (1024.0 * 1024):F1} MiB");
            Row("tokenizer id", tokenizerId);
            Row("chat format", ChatTemplateOptionsFile.Load(folder) is { } chat
                ? $"{StudentChatOptions.Describe(chat)} ({ChatTemplateOptionsFile.FileName})"
                : $"{StudentChatOptions.Describe(new ChatTemplateOptions())} (default: no {ChatTemplateOptionsFile.FileName})");
            cli.Console.Write(table);
            return DistillApp.Success;
        });
        return command;
    }
}
