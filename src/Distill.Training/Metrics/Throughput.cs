using System.Diagnostics;
using Distill.Models.Llama;
using TorchSharp;
using static TorchSharp.torch;

namespace Distill.Training.Metrics;

/// <summary>
/// Model FLOPs utilisation, nanoGPT's estimate: a training token costs 6N FLOPs for the weights (forward 2N, backward 4N) plus
/// 12 * layers * hidden * T for attention scores and values, N counting every parameter once (with tied embeddings the
/// lm_head matmul is the embedding matrix, so it is counted). MFU = achieved FLOP/s over a peak that is measured, not taken from
/// a spec sheet: the rate of a large float32 matmul on the same device at the start of the run. On a shared CPU that peak is what
/// the cores give this process at that moment, so compare MFU between runs on the same machine only.
/// </summary>
public static class Throughput
{
    /// <summary>FLOPs per trained token.</summary>
    public static double FlopsPerToken(LlamaConfig config, long parameters, int seqLen) =>
        6.0 * parameters + 12.0 * config.NumHiddenLayers * config.HiddenSize * seqLen;

    /// <summary>Measures matmul FLOP/s on <paramref name="device"/> (n x n float32, repeated for about <paramref name="seconds"/>).</summary>
    public static double MeasurePeakFlops(Device device, int n = 512, double seconds = 0.5)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var a = randn(n, n, device: device);
        var b = randn(n, n, device: device);
        a.matmul(b).sum().item<float>(); // warm-up
        var sw = Stopwatch.StartNew();
        var iterations = 0;
        while (sw.Elapsed.TotalSeconds < seconds)
        {
            using var c = a.matmul(b);
            if (device.type != DeviceType.CPU) c.sum().item<float>();
            iterations++;
        }
        return 2.0 * n * n * n * iterations / sw.Elapsed.TotalSeconds;
    }
}
