using System.Buffers.Binary;
using System.Text;
using Distill.Models.Native;

namespace Distill.Models.Tests.Native;

public class ElfVersionPatcherTests
{
    /// <summary>
    /// A minimal ELF64 LE image: null section, .dynstr, .gnu.version_r with one Verneed (libstdc++.so.6) and two Vernaux
    /// (GLIBCXX_3.4.30, GLIBCXX_3.4.32), laid out as the glibc loader reads them.
    /// </summary>
    static byte[] BuildElf(out int flags30, out int flags32)
    {
        var dynstr = Encoding.ASCII.GetBytes("\0libstdc++.so.6\0GLIBCXX_3.4.30\0GLIBCXX_3.4.32\0");
        int fileName = 1, name30 = 16, name32 = 31;
        var strOff = 64;
        var needOff = 128;
        var shOff = 192;
        var elf = new byte[shOff + 3 * 64];
        new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1 }.CopyTo(elf, 0);
        BinaryPrimitives.WriteUInt64LittleEndian(elf.AsSpan(0x28), (ulong)shOff);
        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(0x3A), 64);
        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(0x3C), 3);
        dynstr.CopyTo(elf, strOff);

        var n = elf.AsSpan(needOff);
        BinaryPrimitives.WriteUInt16LittleEndian(n, 1);          // vn_version
        BinaryPrimitives.WriteUInt16LittleEndian(n[2..], 2);     // vn_cnt
        BinaryPrimitives.WriteUInt32LittleEndian(n[4..], (uint)fileName);
        BinaryPrimitives.WriteUInt32LittleEndian(n[8..], 16);    // vn_aux
        var a1 = n[16..];
        BinaryPrimitives.WriteUInt32LittleEndian(a1, 0x08922A30);
        BinaryPrimitives.WriteUInt16LittleEndian(a1[6..], 2);
        BinaryPrimitives.WriteUInt32LittleEndian(a1[8..], (uint)name30);
        BinaryPrimitives.WriteUInt32LittleEndian(a1[12..], 16);  // vna_next
        var a2 = n[32..];
        BinaryPrimitives.WriteUInt32LittleEndian(a2, 0x08922A32);
        BinaryPrimitives.WriteUInt16LittleEndian(a2[6..], 3);
        BinaryPrimitives.WriteUInt32LittleEndian(a2[8..], (uint)name32);

        var strSh = elf.AsSpan(shOff + 64);
        BinaryPrimitives.WriteUInt32LittleEndian(strSh[4..], 3); // SHT_STRTAB
        BinaryPrimitives.WriteUInt64LittleEndian(strSh[24..], (ulong)strOff);
        BinaryPrimitives.WriteUInt64LittleEndian(strSh[32..], (ulong)dynstr.Length);
        var verSh = elf.AsSpan(shOff + 128);
        BinaryPrimitives.WriteUInt32LittleEndian(verSh[4..], 0x6ffffffe);
        BinaryPrimitives.WriteUInt64LittleEndian(verSh[24..], (ulong)needOff);
        BinaryPrimitives.WriteUInt64LittleEndian(verSh[32..], 48);
        BinaryPrimitives.WriteUInt32LittleEndian(verSh[40..], 1); // sh_link -> .dynstr
        BinaryPrimitives.WriteUInt32LittleEndian(verSh[44..], 1); // sh_info = number of Verneed entries

        flags30 = needOff + 16 + 4;
        flags32 = needOff + 32 + 4;
        return elf;
    }

    [Fact]
    public void Patch_sets_the_weak_flag_on_exactly_the_named_requirement()
    {
        var original = BuildElf(out var flags30, out var flags32);
        var patched = (byte[])original.Clone();

        Assert.Equal(ElfVersionPatcher.Result.Patched, ElfVersionPatcher.MarkVersionWeak(patched, "GLIBCXX_3.4.32"));

        Assert.Equal(ElfVersionPatcher.VerFlagWeak, BinaryPrimitives.ReadUInt16LittleEndian(patched.AsSpan(flags32)));
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(patched.AsSpan(flags30)));
        var differing = Enumerable.Range(0, original.Length).Where(i => original[i] != patched[i]).ToArray();
        Assert.Equal(new[] { flags32 }, differing);
        Assert.False(ElfVersionPatcher.RequiresStrongly(patched, "GLIBCXX_3.4.32"));
        Assert.True(ElfVersionPatcher.RequiresStrongly(patched, "GLIBCXX_3.4.30"));
    }

    [Fact]
    public void Patch_is_idempotent()
    {
        var elf = BuildElf(out _, out _);
        ElfVersionPatcher.MarkVersionWeak(elf, "GLIBCXX_3.4.32");
        var once = (byte[])elf.Clone();

        Assert.Equal(ElfVersionPatcher.Result.AlreadyWeak, ElfVersionPatcher.MarkVersionWeak(elf, "GLIBCXX_3.4.32"));
        Assert.Equal(once, elf);
    }

    [Fact]
    public void Unknown_version_or_non_elf_input_is_left_alone()
    {
        var elf = BuildElf(out _, out _);
        var copy = (byte[])elf.Clone();
        Assert.Equal(ElfVersionPatcher.Result.NotRequired, ElfVersionPatcher.MarkVersionWeak(elf, "GLIBCXX_3.4.3"));
        Assert.Equal(copy, elf);
        Assert.Equal(ElfVersionPatcher.Result.NotRequired, ElfVersionPatcher.MarkVersionWeak(new byte[100], "GLIBCXX_3.4.32"));
    }

    [Fact]
    public void Atomic_replace_breaks_the_hard_link_instead_of_writing_through_it()
    {
        var dir = Directory.CreateTempSubdirectory("distill-native-").FullName;
        try
        {
            var cache = Path.Combine(dir, "cache.so");
            var output = Path.Combine(dir, "output.so");
            File.WriteAllBytes(cache, [1, 2, 3]);
            if (!TryHardLink(cache, output)) File.Copy(cache, output);

            TorchNative.ReplaceAtomically(output, [9, 9, 9]);

            Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(cache));
            Assert.Equal(new byte[] { 9, 9, 9 }, File.ReadAllBytes(output));
            Assert.DoesNotContain(Directory.GetFiles(dir), f => f.EndsWith(".tmp", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    static bool TryHardLink(string target, string link)
    {
        if (OperatingSystem.IsWindows()) return false;
        try
        {
            using var p = System.Diagnostics.Process.Start("ln", [target, link]);
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
