using System.Diagnostics;
using Distill.Models.Native;
using TorchSharp;
using static Distill.Cli.Commands.DoctorCommand;

namespace Distill.Cli.Commands;

/// <summary>Doctor checks for TorchSharp: native load (with the Debian 12 fix), a timed matmul, CUDA.</summary>
public static class TorchChecks
{
    public static IEnumerable<Check> Run()
    {
        var status = TorchNative.Describe();
        if (!status.Loaded)
        {
            yield return new("TorchSharp", Status.Failed, status.Error!);
            yield break;
        }
        yield return new("TorchSharp", Status.Ok,
            $"TorchSharp {status.TorchSharpVersion}, libtorch {status.LibTorchVersion}, native fix: {status.Fix}");
        yield return new("matmul (cpu, fp32, 1024²)", Status.Ok, $"{MatmulGflops(torch.CPU):F0} GFLOP/s");
        if (status.CudaAvailable)
        {
            yield return new("CUDA", Status.Ok, $"{status.CudaDeviceCount} device(s)");
            yield return new("matmul (cuda, fp32, 1024²)", Status.Ok, $"{MatmulGflops(torch.CUDA):F0} GFLOP/s");
        }
        else
        {
            yield return new("CUDA", Status.Warning,
                "not available: training runs on CPU (slowly). On a GPU machine build with -p:TorchBackend=cuda.");
        }
    }

    /// <summary>Best of a few timed 1024x1024 fp32 matmuls: 2n³ floating-point operations each.</summary>
    public static double MatmulGflops(torch.Device device, int n = 1024, int repeats = 5)
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.randn(n, n, device: device);
        var b = torch.randn(n, n, device: device);
        _ = torch.matmul(a, b); // warm-up: first call pays for allocation and kernel selection
        var best = double.MaxValue;
        for (var i = 0; i < repeats; i++)
        {
            var watch = Stopwatch.StartNew();
            var c = torch.matmul(a, b);
            if (device.type == DeviceType.CUDA)
            {
                torch.cuda.synchronize();
            }
            _ = c.sum().item<float>();
            best = Math.Min(best, watch.Elapsed.TotalSeconds);
        }
        return 2.0 * n * n * n / best / 1e9;
    }
}
