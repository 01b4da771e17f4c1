using System.Text;
using Distill.Core.Errors;

namespace Distill.Models.Tokenization;

/// <summary>
/// What every byte-level BPE tokenizer shares whichever engine encodes: id tables, added tokens, BOS/EOS/PAD,
/// the identity hash and byte-level decoding.
/// </summary>
public abstract class ByteLevelTokenizerBase : ITextTokenizer
{
    private readonly Dictionary<string, int> _tokenToId;
    private readonly string?[] _idToToken;
    private readonly Dictionary<string, int> _addedTokens;
    private readonly HashSet<int> _addedIds;
    private readonly HashSet<int> _specialIds;

    protected ByteLevelTokenizerBase(BpeTokenizerDefinition definition, SpecialTokenNames names)
    {
        Definition = definition;
        RequireMergeTokensInVocab(definition);
        _tokenToId = new Dictionary<string, int>(definition.Vocab, StringComparer.Ordinal);
        _addedTokens = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var added in definition.AddedTokens)
        {
            _tokenToId[added.Content] = added.Id;
            _addedTokens[added.Content] = added.Id;
        }
        _addedIds = definition.AddedTokens.Select(t => t.Id).ToHashSet();
        _specialIds = definition.AddedTokens.Where(t => t.Special).Select(t => t.Id).ToHashSet();
        VocabSize = _tokenToId.Count == 0 ? 0 : _tokenToId.Values.Max() + 1;
        _idToToken = new string?[VocabSize];
        foreach (var (token, id) in _tokenToId)
        {
            _idToToken[id] = token;
        }
        TokenizerId = TokenizerIdentity.Compute(definition);
        BosId = Resolve(names.Bos, "BOS");
        EosId = Resolve(names.Eos, "EOS");
        PadId = Resolve(names.Pad, "PAD");
    }

    public BpeTokenizerDefinition Definition { get; }
    public string TokenizerId { get; }
    public int VocabSize { get; }
    public int? BosId { get; }
    public int? EosId { get; }
    public int? PadId { get; }
    public IReadOnlyDictionary<string, int> AddedTokens => _addedTokens;

    public abstract int[] Encode(string text);

    public virtual string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        var text = new StringBuilder();
        var pendingBytes = new List<byte>();
        foreach (var id in ids)
        {
            var token = IdToToken(id);
            if (token is null)
            {
                continue;
            }
            if (_addedIds.Contains(id))
            {
                // Added tokens are stored as plain text, not in the byte alphabet.
                FlushBytes(pendingBytes, text);
                if (!(skipSpecialTokens && _specialIds.Contains(id)))
                {
                    text.Append(token);
                }
                continue;
            }
            foreach (var c in token)
            {
                if (ByteLevelAlphabet.TryToByte(c, out var b))
                {
                    pendingBytes.Add(b);
                }
                else
                {
                    pendingBytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
                }
            }
        }
        FlushBytes(pendingBytes, text);
        return text.ToString();
    }

    public int? TokenToId(string token) => _tokenToId.TryGetValue(token, out var id) ? id : null;

    public string? IdToToken(int id) => id >= 0 && id < _idToToken.Length ? _idToToken[id] : null;

    // A character's UTF-8 bytes may span several tokens, so bytes are decoded only once a run of them is complete.
    private static void FlushBytes(List<byte> bytes, StringBuilder text)
    {
        if (bytes.Count > 0)
        {
            text.Append(Encoding.UTF8.GetString(bytes.ToArray()));
            bytes.Clear();
        }
    }

    private static void RequireMergeTokensInVocab(BpeTokenizerDefinition definition)
    {
        foreach (var (left, right) in definition.Merges)
        {
            if (!definition.Vocab.ContainsKey(left) || !definition.Vocab.ContainsKey(right) || !definition.Vocab.ContainsKey(left + right))
            {
                throw new DistillException(
                    $"Tokenizer '{definition.Source}' is malformed: merge \"{left} {right}\" uses tokens missing from the vocabulary.",
                    "Re-download or re-save the tokenizer.json.");
            }
        }
    }

    private int? Resolve(string? name, string role)
    {
        if (name is null)
        {
            return null;
        }
        return TokenToId(name) ?? throw new DistillException(
            $"Tokenizer '{Definition.Source}' has no token '{name}' to use as {role}.",
            "Name a token that exists in its vocabulary or added_tokens, or leave it unset.");
    }
}
