using Distill.Core.Errors;
using Distill.Models.Chat;
using Distill.Models.Checkpoints;
using Distill.Models.Llama;
using Distill.Models.SafeTensors;
using TorchSharp;
using static TorchSharp.torch;

namespace Distill.Models.Lora;

/// <summary>
/// A LoRA adapter folder in PEFT's layout: <c>adapter_config.json</c> + <c>adapter_model.safetensors</c>
/// (keys <c>base_model.model.{path}.lora_A.weight</c> / <c>lora_B.weight</c>), so <c>PeftModel.from_pretrained(base, dir)</c>
/// reads what <see cref="Save"/> writes, and <see cref="Load"/> reads adapters PEFT saved for a Llama model.
/// </summary>
public static class PeftAdapter
{
    public const string ConfigFile = "adapter_config.json";
    public const string WeightsFile = "adapter_model.safetensors";

    public static bool Exists(string dir) => File.Exists(Path.Combine(dir, ConfigFile)) && File.Exists(Path.Combine(dir, WeightsFile));

    /// <summary>Writes the adapters of <paramref name="model"/> (weights, then config; each via temp file + rename).</summary>
    public static void Save(nn.Module model, string dir, AdapterConfig config)
    {
        Directory.CreateDirectory(dir);
        var weights = LoRA.AdapterStateDict(model);
        if (weights.Count == 0) throw new DistillException("the model has no LoRA adapters to save", "inject adapters with LoRA.Inject first");
        SafeTensorsWriter.Save(Path.Combine(dir, WeightsFile), weights);
        var path = Path.Combine(dir, ConfigFile);
        var tmp = $"{path}.{Environment.ProcessId}.tmp";
        File.WriteAllText(tmp, config.ToJson() + "\n");
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Reads the adapter config.</summary>
    public static AdapterConfig ReadConfig(string dir)
    {
        var path = Path.Combine(dir, ConfigFile);
        if (!File.Exists(path))
            throw new DistillException($"'{dir}' is not a LoRA adapter folder: {ConfigFile} is missing", "pass the folder a LoRA run wrote (adapter_config.json + adapter_model.safetensors)");
        var config = AdapterConfig.FromJson(File.ReadAllText(path));
        if (config.PeftType != "LORA")
            throw new DistillException($"adapter in '{dir}' is {config.PeftType}, not LORA", "only LoRA adapters are supported");
        if (config.UseDora || config.UseRslora || config.RankPattern.Count > 0 || config.AlphaPattern.Count > 0)
            throw new DistillException($"adapter in '{dir}' uses DoRA, rsLoRA or per-module ranks, which Distill does not implement", "train a plain LoRA adapter");
        return config;
    }

    /// <summary>Injects the adapter described in <paramref name="dir"/> into <paramref name="model"/> and loads its weights.</summary>
    /// <returns>The adapted module paths.</returns>
    public static IReadOnlyList<string> Load(nn.Module model, string dir)
    {
        var config = ReadConfig(dir);
        var paths = LoRA.Inject(model, config.TargetModules, config.R, config.LoraAlpha, config.LoraDropout);
        using var file = SafeTensorsFile.Open(Path.Combine(dir, WeightsFile));
        using var noGrad = no_grad();
        foreach (var (name, tensor) in LoRA.AdapterStateDict(model))
        {
            // PEFT sometimes writes the adapter name into the key (".lora_A.default.weight"); accept both.
            var key = file.Contains(name) ? name : name.Replace(".weight", ".default.weight", StringComparison.Ordinal);
            if (!file.Contains(key))
                throw new DistillException($"adapter weights in '{dir}' lack '{name}'", "the adapter was trained for a different model or target modules");
            using var saved = file.Read(key);
            if (!saved.shape.SequenceEqual(tensor.shape))
                throw new DistillException($"adapter tensor '{name}' has shape [{string.Join(", ", saved.shape)}], the model expects [{string.Join(", ", tensor.shape)}]",
                    "the adapter was trained for a different model or rank");
            tensor.copy_(saved);
        }
        return paths;
    }

    /// <summary>
    /// The base model folder with the adapter folded in: loads the base, applies the adapter, and returns a plain model whose
    /// adapted weights are W + (alpha / r) B A (what <c>distill lora merge</c> writes and <c>distill serve --adapter</c> serves).
    /// </summary>
    /// <exception cref="DistillException">The adapter folder is missing or incomplete, or does not fit the base (target modules, shapes).</exception>
    public static LlamaForCausalLM LoadMerged(string baseModelDir, string adapterDir, Device? device = null)
    {
        if (!Directory.Exists(adapterDir))
            throw new DistillException($"adapter folder not found: {adapterDir}", "pass the folder a LoRA run wrote (adapter_config.json + adapter_model.safetensors)");
        if (!Exists(adapterDir))
            throw new DistillException($"'{adapterDir}' is not a LoRA adapter folder", "pass a folder with adapter_config.json and adapter_model.safetensors");
        using var adapted = ModelFolder.Load(baseModelDir, device);
        Load(adapted, adapterDir);
        var merged = LoRA.MergedStateDict(adapted);
        var plain = new LlamaForCausalLM(adapted.Config.Clone(), adapted.Device);
        using (no_grad())
        {
            foreach (var (name, p) in plain.named_parameters())
            {
                if (!merged.TryGetValue(name, out var t))
                {
                    plain.Dispose();
                    throw new DistillException($"merging produced no tensor '{name}'", "this is a bug: report it with the adapter_config.json");
                }
                p.copy_(t);
            }
        }
        return plain;
    }

    /// <summary>
    /// <c>distill lora merge</c>: <see cref="LoadMerged"/>, then writes a plain model folder (config.json, model.safetensors,
    /// tokenizer.json when the base has one, and the chat template options the adapter was trained with).
    /// </summary>
    public static void Merge(string baseModelDir, string adapterDir, string outDir)
    {
        using var plain = LoadMerged(baseModelDir, adapterDir);
        ModelFolder.Save(plain, outDir, ModelFolder.LoadGenerationConfig(baseModelDir));
        foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json" })
        {
            var src = Path.Combine(baseModelDir, file);
            if (File.Exists(src)) File.Copy(src, Path.Combine(outDir, file), overwrite: true);
        }
        if (ChatOptionsOf(baseModelDir, adapterDir) is { } chat) ChatTemplateOptionsFile.Save(outDir, chat);
    }

    /// <summary>
    /// The chat template options of base + adapter: the adapter run's own (it was trained with them), else the base folder's,
    /// else null (neither has the file: the defaults).
    /// </summary>
    public static ChatTemplateOptions? ChatOptionsOf(string baseModelDir, string adapterDir) =>
        ChatTemplateOptionsFile.Load(adapterDir) ?? ChatTemplateOptionsFile.Load(baseModelDir);
}
