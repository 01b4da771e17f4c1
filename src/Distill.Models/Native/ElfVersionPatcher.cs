using System.Buffers.Binary;
using System.Text;

namespace Distill.Models.Native;

/// <summary>
/// Marks one symbol-version requirement of an ELF64 little-endian shared library as weak (VER_FLG_WEAK),
/// so the glibc loader accepts the library when the providing library lacks that version.
/// Works on bytes only: callers decide where the patched bytes go (never in place: outputs are hard links into the NuGet cache).
/// </summary>
public static class ElfVersionPatcher
{
    public const ushort VerFlagWeak = 0x2;
    const uint ShtGnuVerneed = 0x6ffffffe;

    public enum Result
    {
        /// <summary>The file does not ask for that version (or is not an ELF64 LE file): nothing to do.</summary>
        NotRequired,
        /// <summary>The requirement was already weak: bytes unchanged.</summary>
        AlreadyWeak,
        /// <summary>The flag was set in the buffer.</summary>
        Patched,
    }

    /// <summary>Finds the Vernaux entry named <paramref name="versionName"/> and sets VER_FLG_WEAK in <paramref name="elf"/>.</summary>
    public static Result MarkVersionWeak(Span<byte> elf, string versionName)
    {
        var offset = FindVernauxFlagsOffset(elf, versionName);
        if (offset < 0) return Result.NotRequired;
        var flags = BinaryPrimitives.ReadUInt16LittleEndian(elf[offset..]);
        if ((flags & VerFlagWeak) != 0) return Result.AlreadyWeak;
        BinaryPrimitives.WriteUInt16LittleEndian(elf[offset..], (ushort)(flags | VerFlagWeak));
        return Result.Patched;
    }

    /// <summary>True when the file requires <paramref name="versionName"/> and the requirement is not weak.</summary>
    public static bool RequiresStrongly(ReadOnlySpan<byte> elf, string versionName)
    {
        var offset = FindVernauxFlagsOffset(elf, versionName);
        return offset >= 0 && (BinaryPrimitives.ReadUInt16LittleEndian(elf[offset..]) & VerFlagWeak) == 0;
    }

    /// <summary>File offset of vna_flags for the named requirement, or -1.</summary>
    public static int FindVernauxFlagsOffset(ReadOnlySpan<byte> elf, string versionName)
    {
        // ELF64, little-endian only: the only TorchSharp native builds we patch are linux-x64.
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F') return -1;
        if (elf[4] != 2 || elf[5] != 1) return -1;

        var shoff = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(elf[0x28..]));
        int shentsize = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x3A..]);
        int shnum = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x3C..]);
        if (shoff <= 0 || shentsize < 64 || (long)shoff + (long)shentsize * shnum > elf.Length) return -1;

        var wanted = Encoding.ASCII.GetBytes(versionName);
        for (var i = 0; i < shnum; i++)
        {
            var sh = elf.Slice(shoff + i * shentsize, shentsize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(sh[4..]) != ShtGnuVerneed) continue;
            var secOff = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(sh[24..]));
            var secSize = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(sh[32..]));
            var link = (int)BinaryPrimitives.ReadUInt32LittleEndian(sh[40..]);
            var count = (int)BinaryPrimitives.ReadUInt32LittleEndian(sh[44..]);
            if (link >= shnum || (long)secOff + secSize > elf.Length) return -1;
            var strSh = elf.Slice(shoff + link * shentsize, shentsize);
            var strOff = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(strSh[24..]));
            var strSize = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(strSh[32..]));
            if ((long)strOff + strSize > elf.Length) return -1;
            var strtab = elf.Slice(strOff, strSize);

            var need = secOff;
            for (var n = 0; n < count && need + 16 <= secOff + secSize; n++)
            {
                int vnCnt = BinaryPrimitives.ReadUInt16LittleEndian(elf[(need + 2)..]);
                var vnAux = (int)BinaryPrimitives.ReadUInt32LittleEndian(elf[(need + 8)..]);
                var vnNext = (int)BinaryPrimitives.ReadUInt32LittleEndian(elf[(need + 12)..]);
                var aux = need + vnAux;
                for (var a = 0; a < vnCnt && aux + 16 <= secOff + secSize; a++)
                {
                    var name = (int)BinaryPrimitives.ReadUInt32LittleEndian(elf[(aux + 8)..]);
                    if (NameEquals(strtab, name, wanted)) return aux + 4;
                    var vnaNext = (int)BinaryPrimitives.ReadUInt32LittleEndian(elf[(aux + 12)..]);
                    if (vnaNext == 0) break;
                    aux += vnaNext;
                }
                if (vnNext == 0) break;
                need += vnNext;
            }
        }
        return -1;
    }

    static bool NameEquals(ReadOnlySpan<byte> strtab, int offset, ReadOnlySpan<byte> wanted) =>
        offset >= 0 && offset + wanted.Length < strtab.Length
        && strtab.Slice(offset, wanted.Length).SequenceEqual(wanted)
        && strtab[offset + wanted.Length] == 0;
}
