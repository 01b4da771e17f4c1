using TorchSharp;
using static TorchSharp.torch;
using static Distill.Models.Native.Scalars;

namespace Distill.Models.Llama;

/// <summary>
/// Rotary position embeddings in the Hugging Face layout (rotate_half over the two halves of the head dimension, not interleaved
/// pairs), so weights trained by `transformers` give the same outputs here.
/// <para>HF computes <c>x * cos + rotate_half(x) * sin</c> with <c>rotate_half(x) = [-x2, x1]</c>. Here the sign is folded into
/// the sine table (<c>sin = [-sin, sin]</c> over the two halves) and <c>[x2, x1]</c> is one <c>roll</c>: the same products
/// (<c>x2 * -s == -x2 * s</c> exactly), but one call where rotate_half took two narrows, a negation and a cat. Cached decoding is
/// bound by the number of TorchSharp calls per token (`distill bench model`).</para>
/// </summary>
public static class RotaryEmbedding
{
    /// <summary>cos and sign-folded sin for the given positions.</summary>
    /// <param name="positionIds">[B, S] integer positions.</param>
    /// <returns>cos, sin: [B, S, headDim] in <paramref name="dtype"/>; sin's first half is negated (see the class remarks).</returns>
    public static (Tensor Cos, Tensor Sin) CosSin(Tensor positionIds, int headDim, double theta, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        // Frequencies are not a registered buffer: they would otherwise land in the state dict, which HF files do not have.
        var invFreq = 1.0 / pow(theta, arange(0, headDim, 2, dtype: ScalarType.Float64, device: positionIds.device) / headDim);
        var freqs = positionIds.to_type(ScalarType.Float64).unsqueeze(-1) * invFreq; // [B, S, D/2]
        var sin = freqs.sin();
        var cos = freqs.cos();
        return (cat([cos, cos], -1).to_type(dtype).MoveToOuterDisposeScope(), cat([-sin, sin], -1).to_type(dtype).MoveToOuterDisposeScope());
    }

    /// <summary>Rotates queries or keys: <c>x * cos + [x2, x1] * sin</c>, which is HF's <c>x * cos + rotate_half(x) * sin</c>.</summary>
    /// <param name="x">[..., D], e.g. [B, H, S, D]</param>
    /// <param name="cos">broadcastable to x, e.g. [B, 1, S, D]</param>
    /// <param name="sin">sign-folded, as <see cref="CosSin"/> and <see cref="RotaryTable"/> return it</param>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin) =>
        x.mul(cos).addcmul_(x.roll(x.size(-1) / 2, -1), sin, One);
}

/// <summary>
/// cos / sin rows for positions 0 .. Length - 1 (<see cref="RotaryEmbedding.CosSin"/> of each position), computed once per model
/// instead of on every forward (eleven TorchSharp calls per decode step before). Grows when a longer sequence asks; rebuilt
/// when the dtype or device changes. Not a module: HF state dicts have no such buffer.
/// </summary>
public sealed class RotaryTable : IDisposable
{
    readonly int _headDim;
    readonly double _theta;
    readonly long _minLength;
    readonly Lock _lock = new();
    Tensor? _cos;
    Tensor? _sin;

    public RotaryTable(int headDim, double theta, long minLength)
    {
        _headDim = headDim;
        _theta = theta;
        _minLength = minLength;
    }

    /// <summary>cos and sin for the positions of this forward, broadcastable over heads.</summary>
    /// <param name="positionIds">[B, S], or null for past .. past + S - 1 in every row.</param>
    /// <returns>[B or 1, 1, S, D] each: broadcast over the heads of [B, H, S, D] queries and keys.</returns>
    public (Tensor Cos, Tensor Sin) Lookup(Tensor? positionIds, long past, long s, ScalarType dtype, Device device)
    {
        if (positionIds is null)
        {
            var (cos, sin) = Table(past + s, dtype, device);
            return (cos.narrow(0, past, s).view(1, 1, s, _headDim), sin.narrow(0, past, s).view(1, 1, s, _headDim));
        }
        // Explicit positions need not stay below past + S (a caller may offset them), so the table is sized by the largest one.
        var (cosT, sinT) = Table(Math.Max(past + s, positionIds.max().item<long>() + 1), dtype, device);
        var flat = positionIds.reshape(-1);
        long b = positionIds.shape[0];
        return (cosT.index_select(0, flat).view(b, 1, s, _headDim), sinT.index_select(0, flat).view(b, 1, s, _headDim));
    }

    /// <summary>[length or more, D] tables; the returned tensors belong to this object.</summary>
    (Tensor Cos, Tensor Sin) Table(long length, ScalarType dtype, Device device)
    {
        lock (_lock)
        {
            if (_cos is null || _sin is null || _cos.shape[0] < length || _cos.dtype != dtype
                || _cos.device_type != device.type || _cos.device_index != device.index)
            {
                // Doubling when a longer sequence asks keeps re-computation rare for callers that go past max_position_embeddings.
                var size = Math.Max(_minLength, length);
                if (_cos is not null && _cos.shape[0] < length) size = Math.Max(size, 2 * _cos.shape[0]);
                using var scope = NewDisposeScope();
                // Normal tensors even when the first forward runs in inference mode: a training forward may use them later, and
                // libtorch refuses to save inference tensors for backward.
                using var normal = inference_mode(false);
                using var noGrad = no_grad();
                var (cos, sin) = RotaryEmbedding.CosSin(arange(size, dtype: ScalarType.Int64, device: device), _headDim, _theta, dtype);
                _cos?.Dispose();
                _sin?.Dispose();
                _cos = cos.DetachFromDisposeScope();
                _sin = sin.DetachFromDisposeScope();
            }
            return (_cos, _sin);
        }
    }

    public void Dispose()
    {
        _cos?.Dispose();
        _sin?.Dispose();
        _cos = _sin = null;
    }
}
