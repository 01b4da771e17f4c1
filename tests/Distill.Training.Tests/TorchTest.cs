using Distill.Models.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Distill.Training.Tests;

/// <summary>Base for tests that touch TorchSharp: the native library must be patched before the first torch call.</summary>
public abstract class TorchTest
{
    protected TorchTest()
    {
        TorchNative.EnsureLoaded();
        torch.manual_seed(1234);
    }

    /// <summary>A float32 leaf tensor (requires_grad when asked) of the given shape.</summary>
    protected static Tensor F(float[] data, long[] shape, bool grad = false) =>
        torch.tensor(data).reshape(shape).detach().requires_grad_(grad);

    /// <summary>An int64 tensor of the given shape.</summary>
    protected static Tensor L(long[] data, params long[] shape) => torch.tensor(data).reshape(shape);

    protected static double Item(Tensor t) => t.to_type(ScalarType.Float64).item<double>();

    protected static double[] Row(float[] data, int row, int width) =>
        data.Skip(row * width).Take(width).Select(x => (double)x).ToArray();
}

/// <summary>Reference arithmetic in plain doubles (Math.Exp / Math.Log), independent of the torch code under test.</summary>
internal static class Ref
{
    public static double[] Softmax(double[] z, double temperature = 1.0)
    {
        var m = z.Max() / temperature;
        var e = z.Select(x => Math.Exp(x / temperature - m)).ToArray();
        var s = e.Sum();
        return e.Select(x => x / s).ToArray();
    }

    /// <summary>KL(p || q) = sum p log(p / q), with 0 log 0 = 0.</summary>
    public static double Kl(double[] p, double[] q) => p.Zip(q).Sum(a => a.First == 0 ? 0 : a.First * Math.Log(a.First / a.Second));

    /// <summary>w p + (1 - w) q.</summary>
    public static double[] Mix(double[] p, double[] q, double w) => p.Zip(q, (a, b) => w * a + (1 - w) * b).ToArray();

    public static double Jsd(double[] p, double[] q, double beta)
    {
        var m = Mix(p, q, beta);
        return beta * Kl(p, m) + (1 - beta) * Kl(q, m);
    }
}
