using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static Distill.Models.Native.Scalars;

namespace Distill.Models.Llama;

/// <summary>Embeddings, decoder layers and the final norm (the `model.` prefix of HF state dicts).</summary>
public sealed class LlamaModel : nn.Module<CausalLMInput, (Tensor Hidden, IReadOnlyDictionary<int, Tensor>? HiddenStates)>
{
#pragma warning disable IDE1006 // state-dict keys keep Hugging Face names
    public readonly Embedding embed_tokens;
    public readonly ModuleList<LlamaDecoderLayer> layers;
    public readonly RmsNorm norm;
#pragma warning restore IDE1006
    readonly LlamaConfig _config;
    readonly RotaryTable _rope;

    public LlamaModel(LlamaConfig config, Device? device = null, ScalarType dtype = ScalarType.Float32) : base(Native.TorchNative.LoadedThen(nameof(LlamaModel)))
    {
        _config = config;
        embed_tokens = nn.Embedding(config.VocabSize, config.HiddenSize, device: device, dtype: dtype);
        layers = new ModuleList<LlamaDecoderLayer>();
        for (var i = 0; i < config.NumHiddenLayers; i++) layers.Add(new LlamaDecoderLayer(config, device, dtype));
        norm = new RmsNorm(config.HiddenSize, config.RmsNormEps, device, dtype);
        _rope = new RotaryTable(config.HeadDim, config.RopeTheta, config.MaxPositionEmbeddings);
        RegisterComponents();
    }

    /// <summary>
    /// Hidden states are numbered as in HF `output_hidden_states`: 0 = embeddings, i = output of layer i (1-based), and the last one
    /// (index num_hidden_layers) is taken after the final norm.
    /// </summary>
    public override (Tensor Hidden, IReadOnlyDictionary<int, Tensor>? HiddenStates) forward(CausalLMInput input)
    {
        using var scope = NewDisposeScope();
        var ids = input.InputIds;
        var s = ids.shape[1];
        var past = input.Cache?.Length ?? 0;

        var x = embed_tokens.forward(ids);
        var (cos, sin) = _rope.Lookup(input.PositionIds, past, s, x.dtype, x.device);
        // No padding and nothing cached: plain causal attention, which the fused kernel does without a mask. A decode step
        // without padding attends to every cached key: no mask either.
        var causalOnly = input.AttentionMask is null && past == 0;
        var allowed = causalOnly || (s == 1 && input.AttentionMask is null) ? null : BuildMask(input.AttentionMask, s, past, ids.device);

        var wanted = input.OutputHiddenStates is { Count: > 0 } w ? new HashSet<int>(w) : null;
        var states = wanted is null ? null : new Dictionary<int, Tensor>();
        if (wanted?.Contains(0) == true) states![0] = x;

        for (var i = 0; i < layers.Count; i++)
        {
            x = layers[i].forward(new AttentionInput(x, cos, sin, allowed, input.Cache, i, causalOnly));
            if (i + 1 < layers.Count && wanted?.Contains(i + 1) == true) states![i + 1] = x;
        }
        x = norm.forward(x);
        if (wanted?.Contains(layers.Count) == true) states![layers.Count] = x;

        if (states is not null)
            foreach (var t in states.Values) t.MoveToOuterDisposeScope();
        return (x.MoveToOuterDisposeScope(), states);
    }

    /// <summary>
    /// bool [B or 1, 1, S, past + S]: query i (absolute position past + i) sees key j when j &lt;= past + i and key j is not padding.
    /// </summary>
    /// <param name="attentionMask">[B, past + S], 1 for real tokens and 0 for padding; null when nothing is padded.</param>
    public static Tensor BuildMask(Tensor? attentionMask, long s, long past, Device device)
    {
        var total = past + s;
        if (attentionMask is not null && attentionMask.shape[1] != total)
            throw new ArgumentException($"attention mask covers {attentionMask.shape[1]} tokens, expected past + new = {total}");
        // One query at the end (a decode step) may see every key that is not padding.
        if (s == 1 && attentionMask is not null) return attentionMask.to_type(ScalarType.Bool).view(attentionMask.shape[0], 1, 1, total);
        using var scope = NewDisposeScope();
        using var start = past.ToScalar();
        using var stop = total.ToScalar();
        var queryPos = arange(start, stop, One, dtype: ScalarType.Int64, device: device).unsqueeze(1);
        var keyPos = arange(Zero, stop, One, dtype: ScalarType.Int64, device: device).unsqueeze(0);
        var allowed = keyPos.le(queryPos).unsqueeze(0).unsqueeze(0); // [1, 1, S, T]
        if (attentionMask is not null) allowed = allowed.logical_and(attentionMask.to_type(ScalarType.Bool).unsqueeze(1).unsqueeze(1));
        return allowed.MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _rope.Dispose();
        base.Dispose(disposing);
    }
}
