using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace Distill.Models.Performance;

/// <summary>
/// The device's measured matmul rate: the peak that MFU is taken against (training log, `distill bench model`, `distill doctor`).
/// Measured, not taken from a spec sheet: on a shared CPU it is what the cores give this process at that moment, so compare MFU
/// between runs on the same machine only. FLOPs per trained token: <see cref="Llama.LlamaForCausalLM.TrainingFlopsPerToken"/>.
/// </summary>
public static class MatmulPeak
{
    /// <summary>
    /// Measures matmul FLOP/s on <paramref name="device"/>: n x n float32 matmuls in <paramref name="trials"/> short trials, the best
    /// trial wins (on a shared machine other processes slow some trials down; the best is the closest to what the cores can give).
    /// </summary>
    public static double Measure(Device device, int n = 512, int trials = 5, double secondsPerTrial = 0.1)
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
