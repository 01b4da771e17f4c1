using static TorchSharp.torch;

namespace Distill.Models.Llama;

/// <summary>
/// Per-layer keys and values of the tokens seen so far ([B, kvHeads, T, headDim] each, after rotary embedding).
/// The cache owns its tensors (detached from dispose scopes) and frees the previous step's on every append,
/// so generation memory stays flat. Inference only: old tensors are disposed, so do not backpropagate through a cache.
/// </summary>
public sealed class KvCache : IDisposable
{
    readonly Tensor?[] _keys;
    readonly Tensor?[] _values;

    public KvCache(int numLayers)
    {
        _keys = new Tensor?[numLayers];
        _values = new Tensor?[numLayers];
    }

    /// <summary>Tokens cached so far (including left padding).</summary>
    public long Length => _keys[0]?.shape[2] ?? 0;

    public Tensor? Keys(int layer) => _keys[layer];
    public Tensor? Values(int layer) => _values[layer];

    /// <summary>Appends this step's keys/values for one layer and returns the full keys/values to attend to.</summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor keys, Tensor values)
    {
        var k = _keys[layer] is { } pk ? cat([pk, keys], 2) : keys.alias();
        var v = _values[layer] is { } pv ? cat([pv, values], 2) : values.alias();
        _keys[layer]?.Dispose();
        _values[layer]?.Dispose();
        _keys[layer] = k.DetachFromDisposeScope();
        _values[layer] = v.DetachFromDisposeScope();
        return (k, v);
    }

    public void Dispose()
    {
        for (var i = 0; i < _keys.Length; i++)
        {
            _keys[i]?.Dispose();
            _values[i]?.Dispose();
            _keys[i] = _values[i] = null;
        }
    }
}
