using static TorchSharp.torch;

namespace Distill.Models.Llama;

/// <summary>
/// Rotary position embeddings in the Hugging Face layout (rotate_half over the two halves of the head dimension, not interleaved
/// pairs), so weights trained by `transformers` give the same outputs here.
/// </summary>
public static class RotaryEmbedding
{
    /// <summary>cos and sin for the given positions.</summary>
    /// <param name="positionIds">[B, S] integer positions.</param>
    /// <returns>cos, sin: [B, S, headDim] in <paramref name="dtype"/>.</returns>
    public static (Tensor Cos, Tensor Sin) CosSin(Tensor positionIds, int headDim, double theta, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        // Frequencies are not a registered buffer: they would otherwise land in the state dict, which HF files do not have.
        var invFreq = 1.0 / pow(theta, arange(0, headDim, 2, dtype: ScalarType.Float64, device: positionIds.device) / headDim);
        var freqs = positionIds.to_type(ScalarType.Float64).unsqueeze(-1) * invFreq; // [B, S, D/2]
        var emb = cat([freqs, freqs], -1);
        return (emb.cos().to_type(dtype).MoveToOuterDisposeScope(), emb.sin().to_type(dtype).MoveToOuterDisposeScope());
    }

    /// <summary>[..., D] -> [-x2, x1] with x1, x2 the two halves.</summary>
    public static Tensor RotateHalf(Tensor x)
    {
        var half = x.shape[^1] / 2;
        var x1 = x.narrow(-1, 0, half);
        var x2 = x.narrow(-1, half, half);
        return cat([-x2, x1], -1);
    }

    /// <summary>Applies the rotation to queries or keys.</summary>
    /// <param name="x">[B, H, S, D]</param>
    /// <param name="cos">[B, S, D]</param>
    /// <param name="sin">[B, S, D]</param>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin) =>
        x * cos.unsqueeze(1) + RotateHalf(x) * sin.unsqueeze(1);
}
