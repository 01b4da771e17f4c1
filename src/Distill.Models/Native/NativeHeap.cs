using System.Runtime.InteropServices;

namespace Distill.Models.Native;

/// <summary>
/// glibc malloc settings for processes that train. libtorch's CPU allocator is plain malloc, and glibc serves any block
/// above its mmap threshold (dynamic, at most 32 MiB) with a fresh mmap that is unmapped again on free, so every training step
/// page-faults its large tensors back in (the [V, H] gradients of a 32k-vocabulary head are 33 MB each). On the shared
/// virtual machines this project measures on a page fault costs microseconds: tens of thousands of them per step were a
/// large part of an SFT step (docs/benchmarks.md, `bench train`).
/// </summary>
public static partial class NativeHeap
{
    const int TrimThreshold = -1; // M_TRIM_THRESHOLD
    const int MmapThreshold = -3; // M_MMAP_THRESHOLD

    /// <summary>
    /// Serves blocks up to 32 MiB (glibc's largest allowed threshold) from the heap and keeps up to 1 GiB of freed heap
    /// instead of returning it to the kernel, so a step reuses the previous step's pages. Costs: the resident size stays at the
    /// high-water mark between steps (call <see cref="Trim"/> to release it). Process-wide; a no-op (false) off glibc.
    /// </summary>
    public static bool KeepFreedMemory()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return Mallopt(MmapThreshold, 32 << 20) == 1 && Mallopt(TrimThreshold, 1 << 30) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false; // not glibc (musl has no mallopt)
        }
    }

    /// <summary>Returns free heap memory to the kernel (malloc_trim(0)); false when nothing was released or off glibc.</summary>
    public static bool Trim()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return MallocTrim(0) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int Mallopt(int param, int value);

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
