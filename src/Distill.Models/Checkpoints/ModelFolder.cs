using System.Text.Json;
using System.Text.Json.Serialization;
using Distill.Core.Errors;
using Distill.Models.Llama;
using Distill.Models.SafeTensors;
using TorchSharp;
using static TorchSharp.torch;

namespace Distill.Models.Checkpoints;

/// <summary>
/// A Hugging Face style model folder: `config.json`, `model.safetensors` (or sharded with an index) and optionally
/// `generation_config.json`. What Distill saves here loads in `transformers` with `AutoModelForCausalLM.from_pretrained(dir)`.
/// </summary>
public static class ModelFolder
{
    public const string ConfigFile = "config.json";
    public const string GenerationConfigFile = "generation_config.json";

    static readonly JsonSerializerOptions WriteOptions = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>Builds the model from `config.json` and loads its weights.</summary>
    /// <param name="dtype">parameter dtype; null = float32 (CPU bf16 matmuls are slower, and training wants fp32 master weights).</param>
    public static LlamaForCausalLM Load(string dir, Device? device = null, ScalarType? dtype = null)
    {
        if (!Directory.Exists(dir))
            throw new DistillException($"model folder not found: {dir}", "pass --model <dir> with config.json and model.safetensors");
        var config = LlamaConfig.Load(Path.Combine(dir, ConfigFile));
        var model = new LlamaForCausalLM(config, device, dtype ?? ScalarType.Float32);
        try
        {
            LoadWeights(model, dir);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Reads `generation_config.json` if present.</summary>
    public static GenerationConfig? LoadGenerationConfig(string dir)
    {
        var path = Path.Combine(dir, GenerationConfigFile);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<GenerationConfig>(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new DistillException($"{path} is not valid JSON: {e.Message}", "fix or delete generation_config.json", e);
        }
    }

    /// <summary>
    /// Copies every parameter from the folder's safetensors into <paramref name="model"/>, converting dtype and device.
    /// Every parameter must be present with the right shape; unknown tensors are an error (they mean the config does not match),
    /// except the ones HF itself ignores (a tied `lm_head.weight`, `rotary_emb.inv_freq`).
    /// </summary>
    public static void LoadWeights(LlamaForCausalLM model, string dir)
    {
        using var reader = CheckpointReader.Open(dir);
        using var noGrad = no_grad();
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in parameters)
        {
            if (!reader.Contains(name))
                throw new DistillException($"tensor '{name}' is missing from the weights in {dir}",
                    "the checkpoint does not match config.json (layers, bias, tie_word_embeddings)");
            var info = reader.Info(name);
            if (!info.Shape.SequenceEqual(p.shape))
                throw new DistillException(
                    $"tensor '{name}' in {reader.FileOf(name)} has shape [{string.Join(", ", info.Shape)}], the model expects [{string.Join(", ", p.shape)}]",
                    "the checkpoint does not match config.json");
            using var t = reader.Read(name);
            p.copy_(t);
        }
        foreach (var name in reader.Names)
        {
            if (parameters.ContainsKey(name) || name.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal)) continue;
            if (name == "lm_head.weight" && model.Config.TieWordEmbeddings) continue;
            throw new DistillException($"unexpected tensor '{name}' in {reader.FileOf(name)}",
                "the checkpoint does not match config.json (num_hidden_layers, attention_bias, tie_word_embeddings)");
        }
    }

    /// <summary>
    /// Writes config.json (torch_dtype set to the parameters' dtype), model.safetensors and generation_config.json.
    /// Each file is written to a temp file and renamed, so an interrupted save never leaves a torn file.
    /// </summary>
    public static void Save(LlamaForCausalLM model, string dir, GenerationConfig? generation = null)
    {
        Directory.CreateDirectory(dir);
        var config = model.Config.Clone();
        config.TorchDtype = DTypes.ToTorchDtype(model.DType);
        config.Architectures ??= [config.IsQwen2 ? "Qwen2ForCausalLM" : "LlamaForCausalLM"];

        // named_parameters, not state_dict: a tied model has no lm_head entry, exactly as HF saves it.
        SafeTensorsWriter.Save(Path.Combine(dir, CheckpointReader.SingleFile),
            model.named_parameters().Select(p => KeyValuePair.Create(p.name, (Tensor)p.parameter)));

        generation ??= new GenerationConfig { BosTokenId = config.BosTokenId, EosTokenIdRaw = config.EosTokenIdRaw, PadTokenId = config.PadTokenId };
        WriteText(Path.Combine(dir, GenerationConfigFile), JsonSerializer.Serialize(generation, WriteOptions));
        // config.json last: its presence marks a complete folder for readers polling a run directory.
        WriteText(Path.Combine(dir, ConfigFile), config.ToJson());
    }

    static void WriteText(string path, string text)
    {
        var tmp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        File.WriteAllText(tmp, text + "\n");
        File.Move(tmp, path, overwrite: true);
    }
}
