namespace Distill.Models.Tokenization;

/// <summary>
/// GPT-2's reversible byte-to-unicode mapping: every byte gets a printable character, so a byte-level vocabulary is
/// plain JSON text. Printable Latin-1 bytes map to themselves, the rest to U+0100 upwards (space becomes 'Ġ').
/// </summary>
public static class ByteLevelAlphabet
{
    private static readonly char[] ByteToCharTable = BuildByteToChar();
    private static readonly Dictionary<char, byte> CharToByteTable =
        Enumerable.Range(0, 256).ToDictionary(b => ByteToCharTable[b], b => (byte)b);

    /// <summary>The 256 characters of the alphabet, in byte order.</summary>
    public static IReadOnlyList<char> Characters => ByteToCharTable;

    public static char ToChar(byte value) => ByteToCharTable[value];

    public static bool TryToByte(char c, out byte value) => CharToByteTable.TryGetValue(c, out value);

    /// <summary>UTF-8 bytes of <paramref name="text"/>, each written as its alphabet character.</summary>
    public static string Encode(ReadOnlySpan<char> text)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(text.ToArray());
        var chars = new char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            chars[i] = ByteToCharTable[bytes[i]];
        }
        return new string(chars);
    }

    private static char[] BuildByteToChar()
    {
        var table = new char[256];
        var assigned = new bool[256];
        foreach (var (from, to) in new[] { ('!', '~'), ('¡', '¬'), ('®', 'ÿ') })
        {
            for (int c = from; c <= to; c++)
            {
                table[c] = (char)c;
                assigned[c] = true;
            }
        }
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            if (!assigned[b])
            {
                table[b] = (char)next++;
            }
        }
        return table;
    }
}
