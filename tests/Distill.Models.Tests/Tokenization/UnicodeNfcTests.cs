using Distill.Models.Tokenization;

namespace Distill.Models.Tests.Tokenization;

public class UnicodeNfcTests
{
    [Theory]
    [InlineData("cafe\u0301", "caf\u00e9")]
    [InlineData("\u212b", "\u00c5")]
    [InlineData("\u1100\u1161\u11a8", "\uac01")]
    [InlineData("already NFC: caf\u00e9 東京 🎉", "already NFC: caf\u00e9 東京 🎉")]
    [InlineData("plain ASCII", "plain ASCII")]
    public void Normalize_composes_to_nfc_even_with_invariant_globalization(string input, string expected)
    {
        Assert.True(UnicodeNfc.IsAvailable);

        Assert.Equal(expected, UnicodeNfc.Normalize(input));
    }
}
