using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using Distill.Core.Errors;
using TorchSharp;

namespace Distill.Models.Native;

/// <summary>What <see cref="TorchNative.EnsureLoaded"/> had to do to make TorchSharp's native library loadable.</summary>
public enum NativeFix
{
    /// <summary>Not Linux, or the system libstdc++ already provides the version LibTorchSharp asks for.</summary>
    NotNeeded,
    /// <summary>The library next to the app was already patched (by an earlier run).</summary>
    AlreadyPatched,
    /// <summary>The library next to the app was patched now (temp file + rename).</summary>
    PatchedInPlace,
    /// <summary>The app folder is read-only: a patched copy in the user cache folder was preloaded instead.</summary>
    PatchedCopyInCache,
    /// <summary>No libLibTorchSharp.so was found where TorchSharp loads it from; TorchSharp was left to its own probing.</summary>
    LibraryNotFound,
}

/// <summary>Native status for `distill doctor`.</summary>
public sealed record TorchNativeStatus(
    string Os,
    string? LibStdCxxPath,
    bool LibStdCxxHasRequiredVersion,
    NativeFix Fix,
    IReadOnlyList<string> PatchedFiles,
    string TorchSharpVersion,
    string? LibTorchVersion,
    bool CudaAvailable,
    int CudaDeviceCount,
    string? Error)
{
    public bool Loaded => Error is null;

    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"os:                {Os}");
        sb.AppendLine($"libstdc++:         {LibStdCxxPath ?? "(not found)"} (has {TorchNative.RequiredGlibcxx}: {LibStdCxxHasRequiredVersion})");
        sb.AppendLine($"native fix:        {Fix}{(PatchedFiles.Count > 0 ? " " + string.Join(", ", PatchedFiles) : "")}");
        sb.AppendLine($"TorchSharp:        {TorchSharpVersion}");
        sb.AppendLine($"libtorch:          {LibTorchVersion ?? "(not loaded)"}");
        sb.AppendLine($"cuda:              {(CudaAvailable ? $"available, {CudaDeviceCount} device(s)" : "not available")}");
        if (Error is not null) sb.AppendLine($"error:             {Error}");
        return sb.ToString().TrimEnd();
    }
}

/// <summary>
/// Makes TorchSharp's native library load on Linux distributions whose libstdc++ is older than the one LibTorchSharp was built
/// against (Debian 12: GCC 12, GLIBCXX up to 3.4.30; LibTorchSharp 0.107 asks for GLIBCXX_3.4.32 for one symbol nothing calls).
/// Call <see cref="EnsureLoaded"/> before the first TorchSharp call. See shared/notes/torchsharp-native.md.
/// </summary>
public static class TorchNative
{
    public const string RequiredGlibcxx = "GLIBCXX_3.4.32";
    const string LibName = "libLibTorchSharp.so";

    static readonly Lock Gate = new();
    static TorchNativeStatus? _status;
    static readonly List<IntPtr> Preloaded = [];

    /// <summary>
    /// Idempotent, thread-safe. Patches the native library if needed, then initializes TorchSharp's CPU backend.
    /// Throws <see cref="DistillException"/> when TorchSharp still cannot load.
    /// </summary>
    public static void EnsureLoaded()
    {
        var status = Prepare();
        if (status.Error is not null)
            throw new DistillException($"TorchSharp's native library could not be loaded: {status.Error}",
                "run `distill doctor` for details; on Linux make sure the app folder (or ~/.cache/distill) is writable");
    }

    /// <summary>
    /// For module constructors: `: base(TorchNative.LoadedThen(nameof(X)))`. The base constructor already calls into libtorch,
    /// so the fix must run first; a static constructor would wrap the DistillException in a TypeInitializationException.
    /// </summary>
    public static string LoadedThen(string moduleName)
    {
        EnsureLoaded();
        return moduleName;
    }

    /// <summary>Status for `distill doctor`; never throws.</summary>
    public static TorchNativeStatus Describe()
    {
        var s = Prepare();
        if (s.Error is not null) return s;
        try
        {
            var cuda = torch.cuda.is_available();
            return s with { CudaAvailable = cuda, CudaDeviceCount = cuda ? torch.cuda.device_count() : 0 };
        }
        catch (Exception e)
        {
            return s with { Error = e.Message };
        }
    }

    static TorchNativeStatus Prepare()
    {
        if (_status is not null) return _status;
        lock (Gate)
        {
            if (_status is not null) return _status;
            _status = PrepareCore();
            return _status;
        }
    }

    static TorchNativeStatus PrepareCore()
    {
        var torchSharpVersion = typeof(torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
                                ?? typeof(torch).Assembly.GetName().Version?.ToString() ?? "?";
        var os = RuntimeInformation.OSDescription;
        string? libstdcxx = null;
        var hasVersion = true;
        var fix = NativeFix.NotNeeded;
        var patched = new List<string>();
        string? error = null;

        try
        {
            if (OperatingSystem.IsLinux())
            {
                libstdcxx = FindLoadedLibStdCxx();
                hasVersion = libstdcxx is not null && FileContainsAscii(libstdcxx, RequiredGlibcxx + "\0");
                if (!hasVersion) fix = PatchCandidates(patched);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or BadImageFormatException or DllNotFoundException)
        {
            error = $"patching {LibName} failed: {e.Message}";
        }

        string? libtorchVersion = null;
        if (error is null)
        {
            try
            {
                if (OperatingSystem.IsLinux()) EnableHugePagesForLargeTensors();
                torch.InitializeDeviceType(DeviceType.CPU);
                libtorchVersion = torch.__version__;
            }
            catch (Exception e)
            {
                error = e.Message;
            }
        }

        return new TorchNativeStatus(os, libstdcxx, hasVersion, fix, patched, torchSharpVersion, libtorchVersion, false, 0, error);
    }

    /// <summary>
    /// Turns on libtorch's transparent-huge-page allocation for CPU tensors of 2 MB and more (THP_MEM_ALLOC_ENABLE=1; a value
    /// already in the environment wins). Every fresh large tensor (logits, activations, their gradients) otherwise takes a page
    /// fault per 4 KB page on first touch, and on our VMs faults are slow: zeros(2048, 4096) took 103 ms with 4 KB pages and 9 ms
    /// with huge pages, and the training-shape step of `distill bench model` spent about a fifth of its time faulting.
    /// libtorch reads the variable once, at its first allocation, with getenv, so it is set through libc before TorchSharp
    /// initialises (.NET's Environment.SetEnvironmentVariable does not reach native getenv on Unix).
    /// </summary>
    static void EnableHugePagesForLargeTensors() => SetEnv("THP_MEM_ALLOC_ENABLE", "1", overwrite: 0);

    [DllImport("libc", EntryPoint = "setenv")]
    static extern int SetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);

    /// <summary>Folders TorchSharp's regular load probes (NativeLibrary.TryLoad with the assembly's deps.json paths).</summary>
    static IEnumerable<string> CandidateFiles()
    {
        var rid = $"linux-{RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()}";
        var roots = new[] { AppContext.BaseDirectory, Path.GetDirectoryName(typeof(torch).Assembly.Location) }
            .Where(r => !string.IsNullOrEmpty(r)).Select(r => Path.GetFullPath(r!)).Distinct();
        foreach (var root in roots)
        {
            yield return Path.Combine(root, "runtimes", rid, "native", LibName);
            yield return Path.Combine(root, LibName);
            // TorchSharp.dll loaded straight from the NuGet package (scripts, notebooks): lib/net8.0 -> ../../runtimes.
            yield return Path.GetFullPath(Path.Combine(root, "..", "..", "runtimes", rid, "native", LibName));
        }
    }

    static NativeFix PatchCandidates(List<string> patched)
    {
        var fix = NativeFix.LibraryNotFound;
        foreach (var file in CandidateFiles().Distinct())
        {
            if (!File.Exists(file)) continue;
            var bytes = File.ReadAllBytes(file);
            var result = ElfVersionPatcher.MarkVersionWeak(bytes, RequiredGlibcxx);
            if (result != ElfVersionPatcher.Result.Patched)
            {
                if (fix == NativeFix.LibraryNotFound) fix = result == ElfVersionPatcher.Result.AlreadyWeak ? NativeFix.AlreadyPatched : NativeFix.NotNeeded;
                continue;
            }
            try
            {
                ReplaceAtomically(file, bytes);
                patched.Add(file);
                fix = NativeFix.PatchedInPlace;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                var copy = WritePatchedCopyToCache(bytes);
                PreloadFromCache(Path.GetDirectoryName(file)!, copy);
                patched.Add(copy);
                return NativeFix.PatchedCopyInCache;
            }
        }
        return fix;
    }

    /// <summary>
    /// Writes <paramref name="bytes"/> to a temp file beside <paramref name="path"/> and renames it over the original.
    /// Never writes the original in place: build outputs are hard links into the NuGet cache, and a concurrent process may be
    /// mapping the old file. Rename is atomic, so two processes patching at once both end with a valid, patched file.
    /// </summary>
    public static void ReplaceAtomically(string path, byte[] bytes)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var tmp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            File.WriteAllBytes(tmp, bytes);
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(tmp, File.Exists(path)
                    ? File.GetUnixFileMode(path)
                    : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead
                      | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    static string WritePatchedCopyToCache(byte[] bytes)
    {
        var home = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (string.IsNullOrEmpty(home)) home = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        // Content-addressed so different TorchSharp versions never share a copy.
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes))[..16];
        var dir = Path.Combine(home, "distill", "native", hash);
        Directory.CreateDirectory(dir);
        var target = Path.Combine(dir, LibName);
        if (!File.Exists(target)) ReplaceAtomically(target, bytes);
        return target;
    }

    /// <summary>
    /// The cached copy's RUNPATH ($ORIGIN) does not reach libtorch, so load libtorch from the original folder first; the
    /// loader then satisfies the copy's DT_NEEDED entries by soname. TorchSharp's later load of "LibTorchSharp" by name
    /// matches the already-loaded copy's soname.
    /// </summary>
    static void PreloadFromCache(string originalDir, string copy)
    {
        foreach (var dep in new[] { "libc10.so", "libtorch_cpu.so", "libtorch.so" })
        {
            var p = Path.Combine(originalDir, dep);
            if (File.Exists(p)) Preloaded.Add(NativeLibrary.Load(p));
        }
        Preloaded.Add(NativeLibrary.Load(copy));
    }

    /// <summary>The libstdc++ the dynamic loader resolves for this process (loading it is harmless: libtorch needs it anyway).</summary>
    static string? FindLoadedLibStdCxx()
    {
        if (!NativeLibrary.TryLoad("libstdc++.so.6", out _)) return null;
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            var idx = line.IndexOf('/');
            if (idx < 0) continue;
            var path = line[idx..].Trim();
            if (Path.GetFileName(path).StartsWith("libstdc++.so", StringComparison.Ordinal)) return path;
        }
        return null;
    }

    static bool FileContainsAscii(string path, string text)
    {
        var needle = Encoding.ASCII.GetBytes(text);
        var bytes = File.ReadAllBytes(path);
        return bytes.AsSpan().IndexOf(needle) >= 0;
    }
}
