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
        get => EosTokenIdRaw switch
        {
            { ValueKind: JsonValueKind.Number } e => [e.GetInt64()],
            { ValueKind: JsonValueKind.Array } e => e.EnumerateArray().Select(x => x.GetInt64()).ToList(),
            _ => [],
        };
        set => EosTokenIdRaw = value.Count == 0 ? null
            : value.Count == 1 ? JsonSerializer.SerializeToElement(value[0]) : JsonSerializer.SerializeToElement(value);
    }
}
