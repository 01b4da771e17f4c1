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

    /// <summary>
    /// Measures matmul FLOP/s on <paramref name="device"/>: n x n float32 matmuls in <paramref name="trials"/> short trials, the best
    /// trial wins (on a shared machine other processes slow some trials down; the best is the closest to what the cores can give).
    /// </summary>
    public static double MeasurePeakFlops(Device device, int n = 512, int trials = 5, double secondsPerTrial = 0.1)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var a = randn(n, n, device: device);
        var b = randn(n, n, device: device);
        a.matmul(b).sum().item<float>(); // warm-up
        var best = 0.0;
        for (var trial = 0; trial < trials; trial++)
        {
            var sw = Stopwatch.StartNew();
            var iterations = 0;
            while (sw.Elapsed.TotalSeconds < secondsPerTrial)
            {
                using var c = a.matmul(b);
                if (device.type != DeviceType.CPU) c.sum().item<float>();
                iterations++;
            }
            best = Math.Max(best, 2.0 * n * n * n * iterations / sw.Elapsed.TotalSeconds);
        }
        return best;
    }
}
