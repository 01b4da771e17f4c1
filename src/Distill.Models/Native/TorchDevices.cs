using Distill.Core.Errors;
using TorchSharp;
using static TorchSharp.torch;

namespace Distill.Models.Native;

/// <summary>`--device` and `--dtype` values as a user types them.</summary>
public static class TorchDevices
{
    /// <summary>"cpu", "cuda", "cuda:1", or "auto" (cuda when available, else cpu).</summary>
    public static Device Parse(string? name)
    {
        TorchNative.EnsureLoaded();
        var n = (name ?? "auto").Trim().ToLowerInvariant();
        if (n == "auto") return cuda.is_available() ? CUDA : CPU;
        if (n == "cpu") return CPU;
        if (n == "cuda" || n.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!cuda.is_available())
                throw new DistillException($"device '{name}' requested but CUDA is not available",
                    "use --device cpu, or build with -p:TorchBackend=cuda on a machine with an NVIDIA GPU");
            var index = n == "cuda" ? 0 : int.TryParse(n[5..], out var i) ? i : -1;
            if (index < 0 || index >= cuda.device_count())
                throw new DistillException($"device '{name}' does not exist: {cuda.device_count()} CUDA device(s)", "use cuda:0 .. cuda:N-1");
            return new Device(DeviceType.CUDA, index);
        }
        throw new DistillException($"unknown device '{name}'", "use cpu, cuda, cuda:N or auto");
    }

    /// <summary>"float32" | "fp32" | "bfloat16" | "bf16" | "float16" | "fp16".</summary>
    public static ScalarType ParseDType(string? name) => (name ?? "float32").Trim().ToLowerInvariant() switch
    {
        "float32" or "fp32" or "f32" => ScalarType.Float32,
        "bfloat16" or "bf16" => ScalarType.BFloat16,
        "float16" or "fp16" or "f16" => ScalarType.Float16,
        _ => throw new DistillException($"unknown dtype '{name}'", "use float32, bfloat16 or float16"),
    };
}
