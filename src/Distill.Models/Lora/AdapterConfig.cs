using System.Text.Json;
using System.Text.Json.Serialization;

namespace Distill.Models.Lora;

/// <summary>
/// PEFT's <c>adapter_config.json</c> for a LoRA adapter, so <c>PeftModel.from_pretrained(base, dir)</c> loads what we save.
/// Property names are PEFT's; fields we do not use keep PEFT's defaults.
/// </summary>
public sealed record AdapterConfig
{
    [JsonPropertyName("peft_type")] public string PeftType { get; init; } = "LORA";
    [JsonPropertyName("task_type")] public string TaskType { get; init; } = "CAUSAL_LM";
    [JsonPropertyName("base_model_name_or_path")] public string? BaseModelNameOrPath { get; init; }
    [JsonPropertyName("revision")] public string? Revision { get; init; }
    [JsonPropertyName("r")] public int R { get; init; } = 8;
    [JsonPropertyName("lora_alpha")] public double LoraAlpha { get; init; } = 8;
    [JsonPropertyName("lora_dropout")] public double LoraDropout { get; init; }
    [JsonPropertyName("target_modules")] public IReadOnlyList<string> TargetModules { get; init; } = [];
    [JsonPropertyName("bias")] public string Bias { get; init; } = "none";
    [JsonPropertyName("fan_in_fan_out")] public bool FanInFanOut { get; init; }
    [JsonPropertyName("inference_mode")] public bool InferenceMode { get; init; } = true;
    [JsonPropertyName("init_lora_weights")] public bool InitLoraWeights { get; init; } = true;
    [JsonPropertyName("use_rslora")] public bool UseRslora { get; init; }
    [JsonPropertyName("use_dora")] public bool UseDora { get; init; }
    [JsonPropertyName("modules_to_save")] public IReadOnlyList<string>? ModulesToSave { get; init; }
    [JsonPropertyName("layers_to_transform")] public IReadOnlyList<int>? LayersToTransform { get; init; }
    [JsonPropertyName("rank_pattern")] public IReadOnlyDictionary<string, int> RankPattern { get; init; } = new Dictionary<string, int>();
    [JsonPropertyName("alpha_pattern")] public IReadOnlyDictionary<string, double> AlphaPattern { get; init; } = new Dictionary<string, double>();

    static readonly JsonSerializerOptions Options = new() { WriteIndented = true };

    /// <summary>The config for adapters made by <see cref="LoRA.Inject"/> with these arguments.</summary>
    public static AdapterConfig For(IReadOnlyList<string> targetModules, int rank, double alpha, double dropout, string? baseModel) =>
        new() { TargetModules = targetModules.ToArray(), R = rank, LoraAlpha = alpha, LoraDropout = dropout, BaseModelNameOrPath = baseModel };

    public string ToJson() => JsonSerializer.Serialize(this, Options);

    public static AdapterConfig FromJson(string json) =>
        JsonSerializer.Deserialize<AdapterConfig>(json, Options) ?? throw new JsonException("adapter_config.json is empty");
}
