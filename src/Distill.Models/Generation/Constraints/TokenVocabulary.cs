using System.Text;
using Distill.Models.Tokenization;

namespace Distill.Models.Generation.Constraints;

/// <summary>
/// A tokenizer's tokens as the UTF-8 bytes they write, built once per tokenizer: a byte trie of the ordinary tokens (so a
/// grammar state tests every token sharing a prefix at once and drops whole subtrees at the first bad byte), and the few
/// added tokens whose text a grammar may need (&lt;tool_call&gt;, &lt;/tool_call&gt;). Other added tokens (&lt;|im_start|&gt;,
/// &lt;think&gt;, ...) are never allowed inside constrained text. Byte-level BPE tokens that hold part of a UTF-8 character
/// are fine: the grammar checks UTF-8 byte by byte.
/// </summary>
public sealed class TokenVocabulary
{
    private static readonly string[] GrammarMarkers = [ChatTokens.ToolCallOpen, ChatTokens.ToolCallClose];

    // Flattened trie: node n has edges [_edgeStart[n], _edgeStart[n + 1]) and ends the tokens [_idStart[n], _idStart[n + 1]).
    private readonly int[] _edgeStart;
    private readonly byte[] _edgeByte;
    private readonly int[] _edgeTarget;
    private readonly int[] _idStart;
    private readonly int[] _ids;
    private readonly byte[]?[] _bytes;

    /// <param name="modelVocabSize">Rows of the model's LM head (may exceed the tokenizer's size; the extra ids are never allowed).</param>
    public TokenVocabulary(ITextTokenizer tokenizer, int modelVocabSize)
    {
        VocabSize = modelVocabSize;
        var added = tokenizer.AddedTokens.ToDictionary(kv => kv.Value, kv => kv.Key);
        Markers = GrammarMarkers.Where(tokenizer.AddedTokens.ContainsKey)
            .Select(m => (Id: tokenizer.AddedTokens[m], Bytes: Encoding.UTF8.GetBytes(m))).ToArray();

        var children = new List<Dictionary<byte, int>> { new() };
        var ends = new List<List<int>> { new() };
        var count = Math.Min(tokenizer.VocabSize, modelVocabSize);
        _bytes = new byte[]?[count];
        for (var id = 0; id < count; id++)
        {
            if (added.ContainsKey(id) || tokenizer.IdToToken(id) is not { Length: > 0 } token)
            {
                continue;
            }
            var bytes = TokenBytes(token);
            _bytes[id] = bytes;
            MaxTokenBytes = Math.Max(MaxTokenBytes, bytes.Length);
            var node = 0;
            foreach (var b in bytes)
            {
                if (!children[node].TryGetValue(b, out var next))
                {
                    next = children.Count;
                    children[node][b] = next;
                    children.Add([]);
                    ends.Add([]);
                }
                node = next;
            }
            ends[node].Add(id);
            TokenCount++;
        }

        _edgeStart = new int[children.Count + 1];
        _idStart = new int[children.Count + 1];
        _edgeByte = new byte[children.Count - 1];
        _edgeTarget = new int[children.Count - 1];
        _ids = new int[TokenCount];
        int edge = 0, ids = 0;
        for (var n = 0; n < children.Count; n++)
        {
            _edgeStart[n] = edge;
            _idStart[n] = ids;
            foreach (var (b, target) in children[n])
            {
                _edgeByte[edge] = b;
                _edgeTarget[edge++] = target;
            }
            foreach (var id in ends[n])
            {
                _ids[ids++] = id;
            }
        }
        _edgeStart[^1] = edge;
        _idStart[^1] = ids;
        NodeCount = children.Count;
    }

    public int VocabSize { get; }

    /// <summary>Ordinary tokens in the trie.</summary>
    public int TokenCount { get; }

    public int NodeCount { get; }

    public int MaxTokenBytes { get; }

    /// <summary>Added tokens that write grammar text, with their bytes.</summary>
    public IReadOnlyList<(int Id, byte[] Bytes)> Markers { get; }

    /// <summary>The bytes of an ordinary token, or null for added tokens and ids the tokenizer does not have.</summary>
    public byte[]? BytesOf(int id) => id >= 0 && id < _bytes.Length ? _bytes[id] : null;

    /// <summary>
    /// Calls <paramref name="allow"/> for every ordinary token whose bytes <paramref name="state"/> accepts, with the state after
    /// it; <paramref name="allow"/> decides (e.g. by budget) and returns nothing. Subtrees are cut at the first rejected byte.
    /// </summary>
    public void ForEachAccepted(GrammarState state, Action<int, GrammarState> allow) => Walk(0, state, allow);

    private void Walk(int node, GrammarState state, Action<int, GrammarState> allow)
    {
        for (var e = _edgeStart[node]; e < _edgeStart[node + 1]; e++)
        {
            if (state.Feed(_edgeByte[e]) is not { } next)
            {
                continue;
            }
            var target = _edgeTarget[e];
            for (var i = _idStart[target]; i < _idStart[target + 1]; i++)
            {
                allow(_ids[i], next);
            }
            if (_edgeStart[target] < _edgeStart[target + 1])
            {
                Walk(target, next, allow);
            }
        }
    }

    /// <summary>The bytes an ordinary token writes, as <see cref="ByteLevelTokenizerBase.Decode"/> decodes it (alphabet characters to bytes, others as UTF-8).</summary>
    public static byte[] TokenBytes(string token)
    {
        var bytes = new List<byte>(token.Length);
        foreach (var c in token)
        {
            if (ByteLevelAlphabet.TryToByte(c, out var b))
            {
                bytes.Add(b);
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
            }
        }
        return bytes.ToArray();
    }
}
