using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distill.Models.Llama;

/// <summary>
/// Multi-head attention with grouped-query heads (num_key_value_heads &lt;= num_attention_heads), rotary positions,
/// an explicit boolean mask (causal and padding) and an optional KV cache.
/// </summary>
public sealed class LlamaAttention : nn.Module<AttentionInput, Tensor>
{
#pragma warning disable IDE1006 // state-dict keys keep Hugging Face names
    public readonly nn.Module<Tensor, Tensor> q_proj; // not Linear: LoRA.Inject swaps in a LoRALinear
    public readonly nn.Module<Tensor, Tensor> k_proj; // not Linear: LoRA.Inject swaps in a LoRALinear
    public readonly nn.Module<Tensor, Tensor> v_proj; // not Linear: LoRA.Inject swaps in a LoRALinear
    public readonly nn.Module<Tensor, Tensor> o_proj; // not Linear: LoRA.Inject swaps in a LoRALinear
#pragma warning restore IDE1006
    readonly int _heads;
    readonly int _kvHeads;
    readonly int _headDim;

    public LlamaAttention(LlamaConfig config, Device? device = null, ScalarType dtype = ScalarType.Float32) : base(Native.TorchNative.LoadedThen(nameof(LlamaAttention)))
    {
        _heads = config.NumAttentionHeads;
        _kvHeads = config.KeyValueHeads;
        _headDim = config.HeadDim;
        q_proj = nn.Linear(config.HiddenSize, _heads * _headDim, hasBias: config.QkvBias, device: device, dtype: dtype);
        k_proj = nn.Linear(config.HiddenSize, _kvHeads * _headDim, hasBias: config.QkvBias, device: device, dtype: dtype);
        v_proj = nn.Linear(config.HiddenSize, _kvHeads * _headDim, hasBias: config.QkvBias, device: device, dtype: dtype);
        o_proj = nn.Linear(_heads * _headDim, config.HiddenSize, hasBias: config.OutputProjBias, device: device, dtype: dtype);
        RegisterComponents();
    }

    public override Tensor forward(AttentionInput input)
    {
        using var scope = NewDisposeScope();
        var (x, cos, sin, mask, cache, layer, causalOnly) = input;
        long b = x.shape[0], s = x.shape[1];
        var q = q_proj.forward(x).view(b, s, _heads, _headDim).transpose(1, 2);
        var k = k_proj.forward(x).view(b, s, _kvHeads, _headDim).transpose(1, 2);
        var v = v_proj.forward(x).view(b, s, _kvHeads, _headDim).transpose(1, 2);
        q = RotaryEmbedding.Apply(q, cos, sin);
        k = RotaryEmbedding.Apply(k, cos, sin);
        if (cache is not null) (k, v) = cache.Append(layer, k, v);

        var groups = _heads / _kvHeads;
        // Training and unpadded prefill: libtorch's fused attention (no [B, H, T, T] mask or fp32 score copies; measured
        // in `distill bench model`). Padded rows and decode steps keep the explicit mask, whose fully masked rows must not be NaN.
        var attn = causalOnly
            ? nn.functional.scaled_dot_product_attention(q, RepeatKv(k, groups), RepeatKv(v, groups), null, 0.0, true)
            : AttendGrouped(q, k, v, mask, groups);
        var output = o_proj.forward(attn.transpose(1, 2).reshape(b, s, _heads * _headDim));
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>softmax(q k^T / sqrt(d), masked) v with scores and softmax in fp32.</summary>
    /// <param name="q">[B, H, S, D]</param>
    /// <param name="k">[B, H, T, D]</param>
    /// <param name="v">[B, H, T, D]</param>
    /// <param name="allowed">bool, broadcastable to [B, H, S, T]; true where a query may attend to a key.</param>
    /// <remarks>
    /// Masked scores get the most negative finite float rather than -inf: a fully masked row (a left-padding query) then yields a
    /// uniform distribution instead of NaN, and its output is ignored anyway.
    /// </remarks>
    public static Tensor Attend(Tensor q, Tensor k, Tensor v, Tensor allowed)
    {
        using var scope = NewDisposeScope();
        var scores = q.to_type(ScalarType.Float32).matmul(k.to_type(ScalarType.Float32).transpose(-2, -1)) / Math.Sqrt(q.shape[^1]);
        scores = scores.masked_fill(allowed.logical_not(), float.MinValue);
        var probs = scores.softmax(-1).to_type(v.dtype);
        return probs.matmul(v).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Grouped-query attention without copying keys and values: the <paramref name="groups"/> query heads that share a key/value
    /// head are folded into the query length ([B, kvH, groups * S, D]), so one matmul per key/value head serves all of them.
    /// Same result as <see cref="Attend"/> over <see cref="RepeatKv"/>, which materialised the whole cache groups times per layer
    /// on every decode step.
    /// </summary>
    /// <param name="q">[B, H, S, D] with H = kvH * groups (head h uses key/value head h / groups)</param>
    /// <param name="k">[B, kvH, T, D]</param>
    /// <param name="v">[B, kvH, T, D]</param>
    /// <param name="allowed">bool, broadcastable to [B, 1, S, T]</param>
    public static Tensor AttendGrouped(Tensor q, Tensor k, Tensor v, Tensor allowed, int groups)
    {
        if (groups == 1) return Attend(q, k, v, allowed);
        using var scope = NewDisposeScope();
        long b = q.shape[0], h = q.shape[1], s = q.shape[2], d = q.shape[3], kvHeads = k.shape[1], t = k.shape[2];
        var folded = q.reshape(b, kvHeads, groups * s, d);
        var mask = allowed.expand(b, 1, s, t).unsqueeze(2).expand(b, 1, groups, s, t).reshape(b, 1, groups * s, t);
        return Attend(folded, k, v, mask).reshape(b, h, s, d).MoveToOuterDisposeScope();
    }

    /// <summary>[B, kvH, T, D] -> [B, kvH * groups, T, D], each key/value head shared by <paramref name="groups"/> query heads.</summary>
    public static Tensor RepeatKv(Tensor x, int groups)
    {
        if (groups == 1) return x;
        long b = x.shape[0], h = x.shape[1], t = x.shape[2], d = x.shape[3];
        return x.unsqueeze(2).expand(b, h, groups, t, d).reshape(b, h * groups, t, d);
    }
}

/// <param name="Hidden">[B, S, hidden]</param>
/// <param name="Cos">[B, S, headDim]</param>
/// <param name="Sin">[B, S, headDim]</param>
/// <param name="Allowed">bool [B or 1, 1, S, T]</param>
/// <param name="Cache">appended to when given</param>
/// <param name="Layer">this layer's index in the cache</param>
/// <param name="CausalOnly">no padding and no cached past: plain causal attention, which the fused kernel handles</param>
public sealed record AttentionInput(Tensor Hidden, Tensor Cos, Tensor Sin, Tensor Allowed, KvCache? Cache, int Layer, bool CausalOnly = false);
