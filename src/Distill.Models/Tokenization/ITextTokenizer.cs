namespace Distill.Models.Tokenization;

/// <summary>A text tokenizer as the trainer, sampler and chat template see it, whatever library sits behind it.</summary>
public interface ITextTokenizer
{
    /// <summary>Short sha256 hex of vocabulary, merges and added tokens; datasets record it so logit KD can refuse a mismatch.</summary>
    string TokenizerId { get; }

    /// <summary>One past the largest token id, added tokens included: the size an embedding / LM head needs.</summary>
    int VocabSize { get; }

    /// <summary>Beginning-of-sequence id, or null when the tokenizer has none (Qwen2, GPT-2 style).</summary>
    int? BosId { get; }

    /// <summary>End-of-sequence id: generation stops here.</summary>
    int? EosId { get; }

    /// <summary>Padding id, or null when none is known.</summary>
    int? PadId { get; }

    /// <summary>Added tokens (special or not) by their text; these always encode to exactly one id.</summary>
    IReadOnlyDictionary<string, int> AddedTokens { get; }

    /// <summary>
    /// Encodes text without adding BOS/EOS: callers that want them prepend <see cref="BosId"/> themselves, so chat
    /// rendering can encode a conversation piece by piece. Added tokens that appear literally in the text become single ids.
    /// </summary>
    int[] Encode(string text);

    /// <summary>Decodes ids back to text; added tokens are written as their text unless <paramref name="skipSpecialTokens"/>.</summary>
    string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false);

    /// <summary>The id of a vocabulary entry or added token in its stored form (byte-level: 'Ġ' for a space), or null.</summary>
    int? TokenToId(string token);

    /// <summary>The stored form of a token id, or null when the id is out of range.</summary>
    string? IdToToken(int id);
}
