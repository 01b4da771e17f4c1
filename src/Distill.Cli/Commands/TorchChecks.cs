using Distill.Models.Native;
using Distill.Models.Performance;
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

    /// <summary>The measured fp32 matmul rate at 1024², in GFLOP/s (the same measurement MFU is taken against).</summary>
    public static double MatmulGflops(torch.Device device) => MatmulPeak.Measure(device, n: 1024) / 1e9;
}
