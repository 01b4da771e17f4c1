using System.Security.Cryptography;
using System.Text;

namespace Distill.Generation.Templates;

/// <summary>
/// A template's version: the first <see cref="Length"/> hex digits of the SHA-256 of the normalized file
/// (UTF-8, BOM removed, CRLF and CR turned into LF). Any edit to the file changes it; a checkout on Windows does not.
/// </summary>
public static class TemplateVersion
{
    public const int Length = 12;

    public static string Compute(byte[] fileBytes) => Compute(Decode(fileBytes));

    /// <summary>The version of file text (normalized here, so raw or normalized text gives the same hash).</summary>
    public static string Compute(string text)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(Normalize(text)));
        return Convert.ToHexStringLower(hash)[..Length];
    }

    /// <summary>Decodes UTF-8 and drops a byte-order mark.</summary>
    public static string Decode(byte[] fileBytes) => new UTF8Encoding(false).GetString(fileBytes).TrimStart('\uFEFF');

    public static string Normalize(string text) =>
        text.TrimStart('\uFEFF').Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
}
