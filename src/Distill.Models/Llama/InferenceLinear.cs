using Distill.Models.Performance;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static Distill.Models.Native.Scalars;

namespace Distill.Models.Llama;

/// <summary>
/// The no-gradient forward of one or more linear layers that read the same input (q/k/v, gate/up, or a single o_proj): one
/// matmul over their weights stored side by side and transposed. Both matter for cached decoding on CPU (`distill bench model`):
/// <list type="bullet">
/// <item>one call instead of three matmuls and a cat (decoding a small model is bound by calls per token, not FLOPs);</item>
/// <item>with one token per row the matmul is a matrix-vector product, and MKL reads a weight stored [in, out] about twice as fast
/// as the usual [out, in] when the weights are not in cache (measured: 30 vs 58 µs for a 704 x 256 weight).</item>
/// </list>
/// <para>The layers keep their own Parameters under their Hugging Face names (the checkpoint format, and what LoRA replaces). On
/// first use their weights are copied into one [in, sum of out] buffer and each Parameter is re-pointed at its columns of it,
/// transposed (<c>Tensor.set_</c>: the same object and shape [out, in], only the strides change, so optimizers, state dicts and
/// safetensors files are unaffected). Every in-place change of a weight (optimizer step, load_state_dict, copy_) therefore lands
/// in the buffer, and the fused matmul cannot see stale weights. A Parameter that was replaced (<c>Module.to</c> makes new ones,
/// or a new Parameter was assigned) is noticed by identity, strides and storage offset, and the buffer is rebuilt. A layer that is
/// not a plain <see cref="Linear"/> (a LoRA adapter), a forward that records gradients, or a weight that requires gradients is not
/// fused: <see cref="TryForward"/> returns null and the caller runs the layers one by one.</para>
/// <para>A few rows (a decode step) against a large weight on a CPU with more than one thread go through <see cref="SplitK"/>:
/// libtorch's matrix-vector product runs on one thread and is bound by memory bandwidth, which the second thread nearly doubles.</para>
/// <para>Only frozen weights (<see cref="LlamaForCausalLM.Freeze"/>: serving, generation, evaluation, a KD teacher) are fused. A
/// trainable weight re-pointed into the buffer would become a strided view: libtorch then warns that "grad and param do not obey
/// the gradient layout contract" and every later optimizer step works on strided tensors (the trainer's validation forwards run
/// without gradients, so they used to fuse the student's weights in the middle of training).</para>
/// </summary>
public sealed class InferenceLinear : IDisposable
{
    readonly Lock _lock = new();
    Parameter[]? _weights;
    Parameter[]? _biases;
    long[]? _offsets;
    Tensor? _weight; // [sum of out, in], a transposed view of the [in, sum of out] buffer
    Tensor? _bias;   // [sum of out]
    Tensor? _halves; // [2, in / 2, sum of out]: the buffer's two halves along the input, or null when not worth splitting
    long _outFeatures; // sum of out: the fused Parameters' stride along the input

    // Measured on 2 cores (`distill bench model`'s world-teacher shapes, weights out of cache): split-K is 1.05x - 1.7x faster
    // than one product from about 128k weights on and up to 8 rows; slower (0.7x) for a 256 x 256 weight; no faster at 32 rows.
    const long SplitMinWeights = 128 * 1024;
    const long SplitMaxRows = 8;


    /// <summary>The layers' outputs side by side on the last dimension, or null when they cannot be fused here.</summary>
    /// <param name="x">[..., in]</param>
    /// <returns>[..., sum of out], equal to cat(layers[i](x), -1) up to float rounding.</returns>
    public Tensor? TryForward(Tensor x, params nn.Module<Tensor, Tensor>[] layers)
    {
        var weights = new (Parameter Weight, Parameter? Bias)[layers.Length];
        for (var i = 0; i < layers.Length; i++)
        {
            if (layers[i] is not Linear linear) return null;
            weights[i] = (linear.weight!, linear.bias);
        }
        return TryForward(x, weights);
    }

    /// <summary>The same for weights that do not sit in a <see cref="Linear"/>, e.g. a tied output head (the embedding).</summary>
    /// <param name="weights">[out, in] weights and their optional [out] biases</param>
    public Tensor? TryForward(Tensor x, params (Parameter Weight, Parameter? Bias)[] weights)
    {
        if (is_grad_enabled()) return null;
        foreach (var (w, b) in weights)
            if (w.requires_grad || b?.requires_grad == true) return null;
        Tensor weight;
        Tensor? bias, halves;
        lock (_lock)
        {
            if (!Current(weights) && !Fuse(weights)) return null;
            (weight, bias, halves) = (_weight!, _bias, _halves);
        }
        if (halves is not null && x.numel() <= SplitMaxRows * halves.size(1) * 2 && DecodeThreads.Available > 1) return SplitK(x, halves, bias);
        return nn.functional.linear(x, weight, bias);
    }

    /// <summary>
    /// x W^T as x[:, :in/2] W[:in/2] + x[:, in/2:] W[in/2:]: one batched matmul of the two halves, which libtorch runs on two
    /// threads, then their sum. Equal to the single product up to float rounding (the order of the additions differs).
    /// </summary>
    /// <param name="x">[..., in]</param>
    /// <param name="halves">[2, in / 2, out], a view of the [in, out] buffer</param>
    internal static Tensor SplitK(Tensor x, Tensor halves, Tensor? bias)
    {
        using var scope = NewDisposeScope();
        long half = halves.size(1), outFeatures = halves.size(2);
        var shape = x.shape;
        var rows = x.numel() / (2 * half);
        Tensor y;
        using (DecodeThreads.Wide()) y = x.reshape(rows, 2, half).transpose(0, 1).bmm(halves).sum(0L); // [rows, out]
        if (bias is not null) y.add_(bias, One);
        shape[^1] = outFeatures;
        return y.view(shape).MoveToOuterDisposeScope();
    }

    /// <summary>True when every layer's weight and bias is still the Parameter that points into our buffer.</summary>
    bool Current((Parameter Weight, Parameter? Bias)[] layers)
    {
        if (_weights is null || _weights.Length != layers.Length) return false;
        for (var i = 0; i < layers.Length; i++)
        {
            // Identity catches a new Parameter; storage offset and stride catch a storage swapped in place.
            var w = _weights[i];
            if (!ReferenceEquals(layers[i].Weight, w) || w.storage_offset() != _offsets![i] || w.stride(1) != _outFeatures) return false;
            if (!ReferenceEquals(layers[i].Bias, _biases?[i]) || (_biases is not null && _biases[i].storage_offset() != _offsets[i])) return false;
        }
        return true;
    }

    /// <summary>Copies the weights into one buffer and points the Parameters into it; false when they cannot share one.</summary>
    bool Fuse((Parameter Weight, Parameter? Bias)[] layers)
    {
        var weights = layers.Select(l => l.Weight).ToArray();
        var biases = layers.Select(l => l.Bias).ToArray();
        var first = weights[0];
        if (weights.Any(w => w.dtype != first.dtype || w.device_type != first.device_type || w.device_index != first.device_index
                             || w.size(1) != first.size(1))) return false;
        var hasBias = biases.All(b => b is not null);
        if (!hasBias && biases.Any(b => b is not null)) return false;

        using var scope = NewDisposeScope();
        // An ordinary tensor even when the first forward runs in inference mode (LlamaGenerator): model weights should never be
        // subject to libtorch's rules for inference tensors (no version counter, read-only outside inference mode).
        using var normal = inference_mode(false);
        using var noGrad = no_grad();
        var buffer = cat(weights.Select(w => w.t()).ToArray(), 1).contiguous(); // [in, sum of out]
        var bias = hasBias ? cat(biases.Select(b => (Tensor)b!).ToArray(), 0).DetachFromDisposeScope() : null;
        var offsets = new long[weights.Length];
        long column = 0;
        for (var i = 0; i < weights.Length; i++)
        {
            var rows = weights[i].shape[0];
            weights[i].set_(buffer.narrow(1, column, rows).t());
            biases[i]?.set_(bias!.narrow(0, column, rows));
            offsets[i] = column;
            column += rows;
        }

        _weight?.Dispose();
        _bias?.Dispose();
        _halves?.Dispose();
        _weight = buffer.t().DetachFromDisposeScope();
        _bias = bias;
        long inFeatures = buffer.size(0), outFeatures = buffer.size(1);
        _outFeatures = outFeatures;
        _halves = buffer.device_type == DeviceType.CPU && inFeatures % 2 == 0 && inFeatures * outFeatures >= SplitMinWeights
            ? buffer.view(2, inFeatures / 2, outFeatures).DetachFromDisposeScope()
            : null;
        _weights = weights;
        _biases = hasBias ? biases.Select(b => b!).ToArray() : null;
        _offsets = offsets;
        return true;
    }

    public void Dispose()
    {
        _weight?.Dispose();
        _bias?.Dispose();
        _halves?.Dispose();
        _weight = _bias = _halves = null;
        _weights = null;
        _biases = null;
    }
}
