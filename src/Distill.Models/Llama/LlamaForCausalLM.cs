using Distill.Models.Native;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distill.Models.Llama;

/// <summary>
/// Llama / Qwen2 decoder with a language-model head. Parameter names equal Hugging Face's
/// (`model.layers.0.self_attn.q_proj.weight`, `lm_head.weight`), so safetensors files load without a mapping table.
/// With tie_word_embeddings there is no lm_head module: logits use the embedding matrix, and no `lm_head.weight` is saved (as HF).
/// </summary>
public sealed class LlamaForCausalLM : nn.Module<CausalLMInput, CausalLMOutput>
{
#pragma warning disable IDE1006 // state-dict keys keep Hugging Face names
    public readonly LlamaModel model;
    public readonly Linear? lm_head;
#pragma warning restore IDE1006

    public LlamaForCausalLM(LlamaConfig config, Device? device = null, ScalarType dtype = ScalarType.Float32) : base(TorchNative.LoadedThen(nameof(LlamaForCausalLM)))
    {
        config.Validate();
        if (dtype is not (ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16 or ScalarType.Float64))
            throw new ArgumentException($"unsupported parameter dtype {dtype}", nameof(dtype));
        Config = config;
        Device = device ?? CPU;
        DType = dtype;
        model = new LlamaModel(config, Device, dtype);
        if (!config.TieWordEmbeddings)
            lm_head = nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false, device: Device, dtype: dtype);
        RegisterComponents();
        InitWeights();
    }

    public LlamaConfig Config { get; }
    public Device Device { get; }
    public ScalarType DType { get; }

    /// <summary>Embedding matrix when tied, otherwise lm_head's [V, hidden] weight.</summary>
    public Tensor OutputEmbedding => HeadWeight;

    Parameter HeadWeight => lm_head?.weight ?? model.embed_tokens.weight!;

    // A frozen model's head weight is laid out [hidden, V] on first use: a decode step's [1, hidden] x [hidden, V] product reads
    // it about 1.7x faster than the [V, hidden] an embedding needs, and a lookup of one row at stride V costs nothing.
    readonly InferenceLinear _head = new();

    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <summary>
    /// For serving, generation and evaluation: eval mode, and no parameter records gradients. Frozen weights are what lets a
    /// no-gradient forward fuse q/k/v and gate/up into one matmul (<see cref="InferenceLinear"/> never re-lays out weights a
    /// trainer may still update). Returns this model.
    /// </summary>
    public LlamaForCausalLM Freeze()
    {
        eval();
        foreach (var p in parameters()) p.requires_grad = false;
        return this;
    }

    /// <summary>
    /// Training FLOPs per token, nanoGPT / PaLM style: 6 N for the matmul weights (forward + backward) plus 12 L d_attn T for
    /// attention scores and weighted values. N leaves out the input embedding (a lookup, not a matmul) unless it doubles as the
    /// output head. Divide tokens/s x this by the device's peak FLOP/s for MFU.
    /// </summary>
    public double TrainingFlopsPerToken(int sequenceLength)
    {
        var embedding = (double)Config.VocabSize * Config.HiddenSize;
        var matmulParams = ParameterCount - (Config.TieWordEmbeddings ? 0 : embedding);
        var attention = 12.0 * Config.NumHiddenLayers * Config.NumAttentionHeads * Config.HeadDim * sequenceLength;
        return 6 * matmulParams + attention;
    }

    public override CausalLMOutput forward(CausalLMInput input)
    {
        using var scope = NewDisposeScope();
        var (hidden, states) = model.forward(input);
        if (input.LastTokenLogitsOnly) hidden = hidden.narrow(1, hidden.size(1) - 1, 1);
        var logits = _head.TryForward(hidden, (HeadWeight, null))
                     ?? (lm_head is not null ? lm_head.forward(hidden) : nn.functional.linear(hidden, model.embed_tokens.weight!));
        logits.MoveToOuterDisposeScope();
        if (states is not null)
            foreach (var t in states.Values) t.MoveToOuterDisposeScope();
        return new CausalLMOutput(logits, states, input.Cache);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _head.Dispose();
        base.Dispose(disposing);
    }

    /// <summary>HF's `_init_weights` for Llama: normal(0, initializer_range) for linear and embedding weights, zero biases, unit norms.</summary>
    void InitWeights()
    {
        using var noGrad = no_grad();
        var std = Config.InitializerRange;
        foreach (var (name, p) in named_parameters())
        {
            if (name.EndsWith("layernorm.weight", StringComparison.Ordinal) || name == "model.norm.weight") p.fill_(1.0);
            else if (name.EndsWith(".bias", StringComparison.Ordinal)) p.zero_();
            else p.normal_(0, std);
        }
    }
}
