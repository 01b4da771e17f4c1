using System.Security.Cryptography;
using System.Text;

namespace Distill.Models.Tokenization;

/// <summary>
/// The id a dataset stores to say which tokenizer its token ids belong to. It hashes what gives ids their meaning
/// (vocabulary, merges, added tokens) in a canonical order, so the same tokenizer read from a differently
/// formatted file, or by another library, gets the same id.
/// </summary>
public static class TokenizerIdentity
{
    /// <summary>16 hex characters (64 bits) of sha256: short enough for a column, long enough to never collide by chance.</summary>
    public static string Compute(BpeTokenizerDefinition definition)
    {
        var text = new StringBuilder();
        text.Append("bpe-byte-level-v1\n");
        foreach (var (token, id) in definition.Vocab.OrderBy(e => e.Value).ThenBy(e => e.Key, StringComparer.Ordinal))
        {
            text.Append("v\t").Append(id).Append('\t').Append(token).Append('\n');
        }
        foreach (var (left, right) in definition.Merges)
        {
            text.Append("m\t").Append(left).Append('\t').Append(right).Append('\n');
        }
        foreach (var added in definition.AddedTokens.OrderBy(t => t.Id))
        {
            text.Append("a\t").Append(added.Id).Append('\t').Append(added.Content).Append('\t').Append(added.Special ? '1' : '0').Append('\n');
        }
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString()));
        return Convert.ToHexStringLower(hash, 0, 8);
    }
}
