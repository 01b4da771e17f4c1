using TorchSharp;

namespace Distill.Models.Native;

/// <summary>
/// The constant Scalars hot paths pass to TorchSharp, created once and never disposed. TorchSharp 0.107 turns a C# number into
/// a native Scalar implicitly wherever a Tensor method takes one (and passes an implicit alpha of 1 in <c>add(tensor)</c>) and
/// frees it from the .NET finalizer, which can run while libtorch still reads it: two long runs died in libtorch with
/// <c>toFloat ... Scalar.h:140</c> (docs/benchmarks.md, "TorchSharp Scalar crash"). Per-call values (a temperature, a scale)
/// are passed as a <c>using var</c> Scalar instead, so the <c>using</c> keeps them alive past the native call.
/// </summary>
public static class Scalars
{
    public static readonly Scalar Zero = 0.ToScalar();
    public static readonly Scalar One = 1.ToScalar();
    public static readonly Scalar Two = 2.ToScalar();
    public static readonly Scalar MinusOne = (-1).ToScalar();
    public static readonly Scalar NegativeInfinity = float.NegativeInfinity.ToScalar();
}
