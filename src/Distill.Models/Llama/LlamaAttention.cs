using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distill.Models.Llama;

/// <summary>
/// Multi-head attention with grouped-query heads (num_key_value_heads &lt;= num_attention_heads), rotary positions,
/// a causal flag or an explicit boolean mask (causal and padding), and an optional KV cache.
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
    readonly int _groups;
    readonly InferenceLinear _qkv = new();
    readonly InferenceLinear _o = new();

    public LlamaAttention(LlamaConfig config, Device? device = null, ScalarType dtype = ScalarType.Float32) : base(Native.TorchNative.LoadedThen(nameof(LlamaAttention)))
    {
        _heads = config.NumAttentionHeads;
        _kvHeads = config.KeyValueHeads;
        _headDim = config.HeadDim;
        _groups = _heads / _kvHeads;
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
        long b = x.size(0), s = x.size(1);
        // [B, H + 2 kvH, S, D]: query, key and value heads side by side, already in the layout attention reads.
        var heads = ProjectQkv(x).view(b, s, _heads + 2 * _kvHeads, _headDim).transpose(1, 2);
        // Queries and keys are adjacent heads: one rotation for both.
        var qk = RotaryEmbedding.Apply(heads.narrow(1, 0, _heads + _kvHeads), cos, sin).split([_heads, _kvHeads], 1);
        Tensor q = qk[0], k = qk[1], v = heads.narrow(1, _heads + _kvHeads, _kvHeads);
        if (cache is not null) (k, v) = cache.Append(layer, k, v);

        var attn = causalOnly
            ? nn.functional.scaled_dot_product_attention(q, RepeatKv(k, _groups), RepeatKv(v, _groups), null, 0.0, true)
            : AttendGrouped(q, k, v, mask, _groups);
        // [B, H, S, D] -> [B, S, H * D]; with one query per row the two orders are the same memory, and a decode step is bound by
        // the number of TorchSharp calls (`distill bench model`).
        var merged = s == 1 ? attn.reshape(b, 1, _heads * _headDim) : attn.transpose(1, 2).reshape(b, s, _heads * _headDim);
        var output = _o.TryForward(merged, o_proj) ?? o_proj.forward(merged);
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>[B, S, (H + 2 kvH) * D]: queries, keys and values side by side, from one matmul when no gradient is recorded.</summary>
    Tensor ProjectQkv(Tensor x) =>
        _qkv.TryForward(x, q_proj, k_proj, v_proj) ?? cat([q_proj.forward(x), k_proj.forward(x), v_proj.forward(x)], -1);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _qkv.Dispose();
            _o.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>
    /// softmax(q k^T / sqrt(d), masked) v by libtorch's scaled_dot_product_attention, with grouped-query attention done without
    /// copying keys and values: the <paramref name="groups"/> query heads that share a key/value head are folded into the query
    /// length ([B, kvH, groups * S, D]), so one kernel call per key/value head serves all of them (repeating keys and values
    /// materialised the whole cache groups times per layer on every decode step).
    /// </summary>
    /// <param name="q">[B, H, S, D] with H = kvH * groups (head h uses key/value head h / groups)</param>
    /// <param name="k">[B, kvH, T, D]</param>
    /// <param name="v">[B, kvH, T, D]</param>
    /// <param name="allowed">bool, broadcastable to [B, 1, S, T], true where a query may attend to a key; null = every key.</param>
    /// <remarks>
    /// A fully masked row (a left-padding query) gives zeros, not NaN (libtorch's CPU kernel, tested); its output is ignored.
    /// </remarks>
    public static Tensor AttendGrouped(Tensor q, Tensor k, Tensor v, Tensor? allowed, int groups)
    {
        if (groups == 1) return nn.functional.scaled_dot_product_attention(q, k, v, allowed, 0.0, false);
        using var scope = NewDisposeScope();
        long b = q.size(0), h = q.size(1), s = q.size(2), d = q.size(3), kvHeads = k.size(1), t = k.size(2);
        var folded = q.reshape(b, kvHeads, groups * s, d);
        // One query per row (a decode step): the [B, 1, 1, T] mask already broadcasts over the folded rows.
        var mask = allowed is null || s == 1
            ? allowed
            : allowed.expand(allowed.shape[0], 1, s, t).unsqueeze(2).expand(allowed.shape[0], 1, groups, s, t).reshape(allowed.shape[0], 1, groups * s, t);
        var attn = nn.functional.scaled_dot_product_attention(folded, k, v, mask, 0.0, false);
        return attn.reshape(b, h, s, d).MoveToOuterDisposeScope();
    }

    /// <summary>[B, kvH, T, D] -> [B, kvH * groups, T, D], each key/value head shared by <paramref name="groups"/> query heads.</summary>
    public static Tensor RepeatKv(Tensor x, int groups)
    {
        if (groups == 1) return x;
        long b = x.size(0), h = x.size(1), t = x.size(2), d = x.size(3);
        return x.unsqueeze(2).expand(b, h, groups, t, d).reshape(b, h * groups, t, d);
    }
}

/// <param name="Hidden">[B, S, hidden]</param>
/// <param name="Cos">[B or 1, 1, S, headDim], broadcast over heads (<see cref="RotaryTable.Lookup"/>)</param>
/// <param name="Sin">[B or 1, 1, S, headDim], sign-folded (<see cref="RotaryEmbedding"/>)</param>
/// <param name="Allowed">bool [B or 1, 1, S, T]; null = no mask (every cached key, or causal when <paramref name="CausalOnly"/>)</param>
/// <param name="Cache">appended to when given</param>
/// <param name="Layer">this layer's index in the cache</param>
/// <param name="CausalOnly">no padding and no cached past: plain causal attention, which the fused kernel handles</param>
public sealed record AttentionInput(Tensor Hidden, Tensor Cos, Tensor Sin, Tensor? Allowed, KvCache? Cache, int Layer, bool CausalOnly = false);
