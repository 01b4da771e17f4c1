using System.Text.Json;
using System.Text.Json.Serialization;
using Distill.Core.Errors;

namespace Distill.Models.Llama;

/// <summary>
/// A Hugging Face `config.json` for the Llama family ("llama", "qwen2"), read as is.
/// Unknown keys are kept in <see cref="Extra"/> and written back, so a round trip loses nothing `transformers` needs.
/// </summary>
public sealed class LlamaConfig
{
    [JsonPropertyName("architectures")] public List<string>? Architectures { get; set; }
    [JsonPropertyName("model_type")] public string ModelType { get; set; } = "llama";
    [JsonPropertyName("vocab_size")] public int VocabSize { get; set; } = 32000;
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; set; } = 4096;
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; set; } = 11008;
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; set; } = 32;
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; set; } = 32;
    [JsonPropertyName("num_key_value_heads")] public int? NumKeyValueHeads { get; set; }
    [JsonPropertyName("head_dim")] public int? HeadDimOverride { get; set; }
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; set; } = 2048;
    [JsonPropertyName("rms_norm_eps")] public double RmsNormEps { get; set; } = 1e-6;
    [JsonPropertyName("rope_theta")] public double RopeTheta { get; set; } = 10000.0;
    [JsonPropertyName("tie_word_embeddings")] public bool TieWordEmbeddings { get; set; }
    [JsonPropertyName("attention_bias")] public bool? AttentionBias { get; set; }
    [JsonPropertyName("mlp_bias")] public bool? MlpBias { get; set; }
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; set; } = "silu";
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; set; } = 0.02;
    [JsonPropertyName("bos_token_id")] public long? BosTokenId { get; set; }
    [JsonPropertyName("eos_token_id")] public JsonElement? EosTokenIdRaw { get; set; }
    [JsonPropertyName("pad_token_id")] public long? PadTokenId { get; set; }
    [JsonPropertyName("torch_dtype")] public string? TorchDtype { get; set; }
    [JsonPropertyName("transformers_version")] public string? TransformersVersion { get; set; }

    /// <summary>Keys this class does not model (rope_scaling, use_cache, ...), preserved on save.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    [JsonIgnore] public int KeyValueHeads => NumKeyValueHeads ?? NumAttentionHeads;
    [JsonIgnore] public int HeadDim => HeadDimOverride ?? HiddenSize / NumAttentionHeads;
    [JsonIgnore] public bool IsQwen2 => ModelType == "qwen2";

    /// <summary>
    /// Qwen2 always has q/k/v bias, no o_proj bias and no MLP bias, whatever `attention_bias` / `mlp_bias` say (transformers'
    /// Qwen2Attention and Qwen2MLP ignore both keys); Llama puts `attention_bias` on q/k/v/o and `mlp_bias` on the MLP.
    /// </summary>
    [JsonIgnore] public bool QkvBias => IsQwen2 || (AttentionBias ?? false);
    [JsonIgnore] public bool OutputProjBias => !IsQwen2 && (AttentionBias ?? false);
    [JsonIgnore] public bool MlpHasBias => !IsQwen2 && (MlpBias ?? false);

    /// <summary>`eos_token_id` may be one id or a list in HF configs.</summary>
    [JsonIgnore]
    public IReadOnlyList<long> EosTokenIds
    {
        get => TokenIdJson.Read(EosTokenIdRaw);
        // A single id is written as a number, as most Hub configs do; none leaves the key out.
        set => EosTokenIdRaw = TokenIdJson.Write(value);
    }

    static readonly JsonSerializerOptions WriteOptions = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static LlamaConfig FromJson(string json, string source = "config.json")
    {
        LlamaConfig? config;
        try
        {
            config = JsonSerializer.Deserialize<LlamaConfig>(json);
        }
        catch (JsonException e)
        {
            throw new DistillException($"{source} is not valid JSON: {e.Message}", "fix or regenerate the model's config.json", e);
        }
        if (config is null) throw new DistillException($"{source} is empty", "fix or regenerate the model's config.json");
        config.Validate(source);
        return config;
    }

    public static LlamaConfig Load(string path)
    {
        if (!File.Exists(path))
            throw new DistillException($"model config not found: {path}", "point --model at a folder with config.json and model.safetensors");
        return FromJson(File.ReadAllText(path), path);
    }

    public string ToJson() => JsonSerializer.Serialize(this, WriteOptions);

    public LlamaConfig Clone() => FromJson(ToJson());

    public void Validate(string source = "config")
    {
        if (ModelType is not ("llama" or "qwen2"))
            throw new DistillException($"{source}: model_type '{ModelType}' is not supported", "Distill loads Llama-family models: model_type \"llama\" or \"qwen2\"");
        if (HiddenSize <= 0 || NumHiddenLayers <= 0 || NumAttentionHeads <= 0 || VocabSize <= 0 || IntermediateSize <= 0)
            throw new DistillException($"{source}: hidden_size, intermediate_size, num_hidden_layers, num_attention_heads and vocab_size must be positive");
        if (HeadDimOverride is null && HiddenSize % NumAttentionHeads != 0)
            throw new DistillException($"{source}: hidden_size {HiddenSize} is not divisible by num_attention_heads {NumAttentionHeads}");
        if (NumAttentionHeads % KeyValueHeads != 0)
            throw new DistillException($"{source}: num_attention_heads {NumAttentionHeads} is not a multiple of num_key_value_heads {KeyValueHeads}");
        if (HeadDim % 2 != 0)
            throw new DistillException($"{source}: head dimension {HeadDim} must be even for rotary embeddings");
        // Silently ignoring these would give wrong outputs for long contexts rather than an error.
        if (Extra?.TryGetValue("rope_scaling", out var scaling) == true && scaling.ValueKind != JsonValueKind.Null)
            throw new DistillException($"{source}: rope_scaling is not supported yet", "use a model without rope_scaling (plain RoPE with rope_theta)");
        if (Extra?.TryGetValue("use_sliding_window", out var sliding) == true && sliding.ValueKind == JsonValueKind.True)
            throw new DistillException($"{source}: sliding-window attention is not supported", "set use_sliding_window to false");
        if (HiddenAct != "silu")
            throw new DistillException($"{source}: hidden_act '{HiddenAct}' is not supported", "Llama-family models use \"silu\"");
    }
}
