using Distill.Models.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Distill.Models.Tests.Native;

public class TorchNativeTests : TorchTest
{
    [Fact]
    public void Matmul_and_backward_give_the_analytic_gradient()
    {
        using var scope = NewDisposeScope();
        var a = tensor(new float[] { 1, 2, 3, 4 }, 2, 2).requires_grad_();
        var b = tensor(new float[] { 5, 6, 7, 8 }, 2, 2);
        var c = a.matmul(b);
        Assert.Equal(new float[] { 19, 22, 43, 50 }, c.data<float>().ToArray());

        // d(sum(A @ B))/dA = ones @ B^T: every row is the row sums of B.
        c.sum().backward();
        Assert.Equal(new float[] { 11, 15, 11, 15 }, a.grad!.data<float>().ToArray());
    }

    [Fact]
    public void Describe_reports_a_loaded_library_and_the_fix_taken()
    {
        var status = TorchNative.Describe();
        Assert.True(status.Loaded, status.Error);
        Assert.False(string.IsNullOrEmpty(status.LibTorchVersion));
        if (OperatingSystem.IsLinux() && !status.LibStdCxxHasRequiredVersion)
            Assert.Contains(status.Fix, new[] { NativeFix.PatchedInPlace, NativeFix.AlreadyPatched, NativeFix.PatchedCopyInCache });
        else
            Assert.Equal(NativeFix.NotNeeded, status.Fix);
    }

    [Fact]
    public void Library_next_to_the_app_no_longer_requires_the_missing_version_strongly()
    {
        var status = TorchNative.Describe();
        if (!OperatingSystem.IsLinux() || status.LibStdCxxHasRequiredVersion || status.Fix == NativeFix.PatchedCopyInCache) return;
        var lib = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(lib), lib);
        var bytes = File.ReadAllBytes(lib);
        Assert.True(ElfVersionPatcher.FindVernauxFlagsOffset(bytes, TorchNative.RequiredGlibcxx) >= 0);
        Assert.False(ElfVersionPatcher.RequiresStrongly(bytes, TorchNative.RequiredGlibcxx));
    }
}

public class TorchDevicesTests : TorchTest
{
    [Fact]
    public void Device_and_dtype_names_parse_and_bad_ones_are_user_errors()
    {
        Assert.Equal(DeviceType.CPU, TorchDevices.Parse("cpu").type);
        Assert.Equal(cuda.is_available() ? DeviceType.CUDA : DeviceType.CPU, TorchDevices.Parse("auto").type);
        Assert.Equal(ScalarType.BFloat16, TorchDevices.ParseDType("bf16"));
        Assert.Throws<Distill.Core.Errors.DistillException>(() => TorchDevices.Parse("tpu"));
        Assert.Throws<Distill.Core.Errors.DistillException>(() => TorchDevices.ParseDType("int4"));
        if (!cuda.is_available()) Assert.Throws<Distill.Core.Errors.DistillException>(() => TorchDevices.Parse("cuda"));
    }
}
