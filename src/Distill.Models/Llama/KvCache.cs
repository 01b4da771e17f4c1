using static TorchSharp.torch;

namespace Distill.Models.Llama;

/// <summary>
/// Per-layer keys and values of the tokens seen so far ([B, kvHeads, T, headDim] each, after rotary embedding).
/// With a <c>capacity</c> (prompt + new tokens, known to the generator) the buffers are allocated once and each step writes
/// into them in place, like Hugging Face's static cache: growing by concatenation reallocates and copies every layer's
/// whole cache on every step, which made batch-32 decoding slower than batch 8 (`distill bench model`).
/// Without a capacity it grows by concatenation. The cache owns its tensors (detached from dispose scopes), so memory
/// stays flat. Inference only: do not backpropagate through a cache.
/// </summary>
public sealed class KvCache : IDisposable
{
    readonly Tensor?[] _keys;
    readonly Tensor?[] _values;
    readonly long[] _lengths;
    readonly long _capacity;

    /// <param name="capacity">Most tokens the cache will hold; 0 = unknown (grow by concatenation).</param>
    public KvCache(int numLayers, long capacity = 0)
    {
        _keys = new Tensor?[numLayers];
        _values = new Tensor?[numLayers];
        _lengths = new long[numLayers];
        _capacity = capacity;
    }

    /// <summary>Tokens cached so far (including left padding).</summary>
    public long Length => _lengths[0];

    /// <summary>Decoder layers the cache holds keys and values for.</summary>
    public int Layers => _keys.Length;

    /// <summary>The keys and values cached for one layer so far ([B, kvHeads, Length, headDim] views of the cache's buffers).</summary>
    public (Tensor Keys, Tensor Values) Filled(int layer)
    {
        var length = _lengths[layer];
        if (_keys[layer] is not { } keys || _values[layer] is not { } values) throw new InvalidOperationException($"layer {layer} holds nothing yet");
        return (keys.narrow(2, 0, length), values.narrow(2, 0, length));
    }

    /// <summary>
    /// A cache holding the given keys and values per layer (copied into buffers of <paramref name="capacity"/> tokens, so the
    /// steps after it write in place): how a continuous batch is rebuilt when rows leave or join it.
    /// </summary>
    /// <param name="layers">[B, kvHeads, T, headDim] keys and values per layer, T the same for all.</param>
    public static KvCache From(IReadOnlyList<(Tensor Keys, Tensor Values)> layers, long capacity)
    {
        var length = layers[0].Keys.size(2);
        var cache = new KvCache(layers.Count, Math.Max(capacity, length));
        for (var i = 0; i < layers.Count; i++) cache.Append(i, layers[i].Keys, layers[i].Values);
        return cache;
    }

    /// <summary>Appends this step's keys/values for one layer and returns the full keys/values to attend to.</summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor keys, Tensor values)
    {
        var start = _lengths[layer];
        var added = keys.size(2);
        var end = start + added;
        if (_capacity >= end)
        {
            using (no_grad())
            {
                _keys[layer] ??= Allocate(keys);
                _values[layer] ??= Allocate(values);
                _keys[layer]!.narrow(2, start, added).copy_(keys);
                _values[layer]!.narrow(2, start, added).copy_(values);
            }
            _lengths[layer] = end;
            return (_keys[layer]!.narrow(2, 0, end), _values[layer]!.narrow(2, 0, end));
        }

        if (_capacity > 0 && _keys[layer] is { } full && full.shape[2] == _capacity)
        {
            // Past the planned capacity: keep only the filled part, then grow by concatenation from here on.
            _keys[layer] = full.narrow(2, 0, start).clone().DetachFromDisposeScope();
            _values[layer] = _values[layer]!.narrow(2, 0, start).clone().DetachFromDisposeScope();
            full.Dispose();
        }
        var k = _keys[layer] is { } pk ? cat([pk, keys], 2) : keys.alias();
        var v = _values[layer] is { } pv ? cat([pv, values], 2) : values.alias();
        _keys[layer]?.Dispose();
        _values[layer]?.Dispose();
        _keys[layer] = k.DetachFromDisposeScope();
        _values[layer] = v.DetachFromDisposeScope();
        _lengths[layer] = end;
        return (k, v);
    }

    Tensor Allocate(Tensor like) =>
        empty([like.size(0), like.size(1), _capacity, like.size(3)], dtype: like.dtype, device: like.device).DetachFromDisposeScope();

    public void Dispose()
    {
        for (var i = 0; i < _keys.Length; i++)
        {
            _keys[i]?.Dispose();
            _values[i]?.Dispose();
            _keys[i] = _values[i] = null;
            _lengths[i] = 0;
        }
    }
}
