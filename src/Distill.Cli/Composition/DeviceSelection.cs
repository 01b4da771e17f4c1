using Distill.Core.Errors;
using Distill.Models.Native;
using TorchSharp;

namespace Distill.Cli.Composition;

/// <summary>Turns the "Device" setting (auto | cpu | cuda) into a TorchSharp device, loading the native library first.</summary>
public static class DeviceSelection
{
    public static torch.Device Resolve(string device)
    {
        TorchNative.EnsureLoaded();
        return device switch
        {
            "cpu" => torch.CPU,
            "cuda" when torch.cuda.is_available() => torch.CUDA,
            "cuda" => throw new DistillException("Device 'cuda' was asked for but TorchSharp sees no CUDA device.",
                "Build with -p:TorchBackend=cuda on a machine with an NVIDIA GPU, or use --set Device=cpu."),
            _ => torch.cuda.is_available() ? torch.CUDA : torch.CPU,
        };
    }
}
