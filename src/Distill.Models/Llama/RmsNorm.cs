using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static Distill.Models.Native.Scalars;

namespace Distill.Models.Llama;

/// <summary>y = x / sqrt(mean(x^2) + eps) * weight, computed in fp32 (as HF does) so bf16 models keep their precision.</summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // state-dict key
    public readonly Parameter weight;
#pragma warning restore IDE1006
    readonly Scalar _eps; // explicit and kept alive: an implicit double -> Scalar per call is freed by the finalizer, possibly mid-call

    public RmsNorm(long dim, double eps, Device? device = null, ScalarType dtype = ScalarType.Float32) : base(Native.TorchNative.LoadedThen(nameof(RmsNorm)))
    {
        weight = nn.Parameter(ones(dim, dtype: dtype, device: device));
        _eps = eps.ToScalar();
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var inputType = x.dtype;
        var h = inputType == ScalarType.Float32 ? x : x.to_type(ScalarType.Float32);
        var variance = h.pow(Two).mean([-1L], keepdim: true);
        h = h * rsqrt(variance.add(_eps, One));
        return (weight * (inputType == ScalarType.Float32 ? h : h.to_type(inputType))).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _eps.Dispose();
        base.Dispose(disposing);
    }
}
