using System.Text.Json;
using System.Text.Json.Serialization;

namespace Distill.Models.Checkpoints;

/// <summary>Hugging Face `generation_config.json` (the subset Distill uses; other keys are kept).</summary>
public sealed class GenerationConfig
{
    [JsonPropertyName("bos_token_id")] public long? BosTokenId { get; set; }
    [JsonPropertyName("eos_token_id")] public JsonElement? EosTokenIdRaw { get; set; }
    [JsonPropertyName("pad_token_id")] public long? PadTokenId { get; set; }
    [JsonPropertyName("do_sample")] public bool? DoSample { get; set; }
    [JsonPropertyName("temperature")] public double? Temperature { get; set; }
    [JsonPropertyName("top_k")] public int? TopK { get; set; }
    [JsonPropertyName("top_p")] public double? TopP { get; set; }
    [JsonPropertyName("max_new_tokens")] public int? MaxNewTokens { get; set; }
    [JsonPropertyName("transformers_version")] public string? TransformersVersion { get; set; }
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    [JsonIgnore]
    public IReadOnlyList<long> EosTokenIds
    {
        get => Llama.TokenIdJson.Read(EosTokenIdRaw);
        set => EosTokenIdRaw = Llama.TokenIdJson.Write(value);
    }
}
