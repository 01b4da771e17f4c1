using System.Text;
using Distill.Models.Tokenization;

namespace Distill.Server.Constraints;

/// <summary>
/// A tokenizer's tokens as the UTF-8 bytes they write, built once per tokenizer, so a grammar state can be tested against
/// the whole vocabulary quickly:
/// <list type="bullet">
/// <item>"plain" tokens (only printable ASCII other than '"', '\' and '&lt;', and whole valid UTF-8 characters) are listed
/// by character count: inside a JSON string they are all acceptable up to the string's remaining length, with no per-byte
/// work. This is what keeps a 150k vocabulary affordable, since a string accepts most of it.</item>
/// <item>every token is also in a byte trie (plain ones in their own), so elsewhere a state tests every token sharing a prefix at
/// once and drops whole subtrees at the first bad byte.</item>
/// <item>the few added tokens whose text a grammar may need (&lt;tool_call&gt;, &lt;/tool_call&gt;) are kept aside; other added tokens
/// (&lt;|im_start|&gt;, &lt;think&gt;, ...) are never allowed inside constrained text.</item>
/// </list>
/// Byte-level BPE tokens that hold part of a UTF-8 character are fine: the grammar checks UTF-8 byte by byte.
/// </summary>
public sealed class TokenVocabulary
{
    private static readonly string[] GrammarMarkers = [ChatTokens.ToolCallOpen, ChatTokens.ToolCallClose];
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly byte[]?[] _bytes;
    private readonly ByteTrie _plainTrie;
    private readonly ByteTrie _otherTrie;

    /// <param name="modelVocabSize">Rows of the model's LM head (may exceed the tokenizer's size; the extra ids are never allowed).</param>
    public TokenVocabulary(ITextTokenizer tokenizer, int modelVocabSize)
    {
        VocabSize = modelVocabSize;
        var added = tokenizer.AddedTokens.ToDictionary(kv => kv.Value, kv => kv.Key);
        Markers = GrammarMarkers.Where(tokenizer.AddedTokens.ContainsKey)
            .Select(m => (Id: tokenizer.AddedTokens[m], Bytes: Encoding.UTF8.GetBytes(m))).ToArray();

        var count = Math.Min(tokenizer.VocabSize, modelVocabSize);
        _bytes = new byte[]?[count];
        var plain = new List<(int Id, int Chars, byte[] Bytes)>();
        var other = new List<(int Id, byte[] Bytes)>();
        for (var id = 0; id < count; id++)
        {
            if (added.ContainsKey(id) || tokenizer.IdToToken(id) is not { Length: > 0 } token)
            {
                continue;
            }
            var bytes = TokenBytes(token);
            _bytes[id] = bytes;
            MaxTokenBytes = Math.Max(MaxTokenBytes, bytes.Length);
            if (PlainCharacters(bytes) is { } chars)
            {
                plain.Add((id, chars, bytes));
            }
            else
            {
                other.Add((id, bytes));
            }
        }
        plain.Sort((a, b) => a.Chars.CompareTo(b.Chars));
        PlainIds = plain.Select(p => p.Id).ToArray();
        PlainChars = plain.Select(p => p.Chars).ToArray();
        _plainTrie = new ByteTrie(plain.Select(p => (p.Id, p.Bytes)));
        _otherTrie = new ByteTrie(other);
        TokenCount = plain.Count + other.Count;
    }

    public int VocabSize { get; }

    /// <summary>Ordinary (not added) tokens the grammar may use.</summary>
    public int TokenCount { get; }

    public int NodeCount => _plainTrie.NodeCount + _otherTrie.NodeCount;

    public int MaxTokenBytes { get; }

    /// <summary>Plain tokens (see the class summary), sorted by <see cref="PlainChars"/>, their length in characters.</summary>
    public int[] PlainIds { get; }

    public int[] PlainChars { get; }

    /// <summary>Added tokens that write grammar text, with their bytes.</summary>
    public IReadOnlyList<(int Id, byte[] Bytes)> Markers { get; }

    /// <summary>The bytes of an ordinary token, or null for added tokens and ids the tokenizer does not have.</summary>
    public byte[]? BytesOf(int id) => id >= 0 && id < _bytes.Length ? _bytes[id] : null;

    /// <summary>The bytes a generated token writes: a grammar marker's text, or an ordinary token's bytes; null for any other id.</summary>
    public byte[]? BytesWritten(long id) => Markers.FirstOrDefault(m => m.Id == id).Bytes ?? BytesOf((int)id);

    /// <summary>
    /// Calls <paramref name="allow"/> for every ordinary token whose bytes <paramref name="state"/> accepts, with the state after
    /// it. <paramref name="skipPlain"/> leaves out the plain tokens (the caller handles them in bulk).
    /// </summary>
    public void ForEachAccepted(GrammarState state, Action<int, GrammarState> allow, bool skipPlain = false)
    {
        _otherTrie.Walk(state, allow);
        if (!skipPlain)
        {
            _plainTrie.Walk(state, allow);
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

    // Characters in a token a JSON string takes as they are, or null when it holds a quote, a backslash, '<' (a chat marker may
    // start there), a control character, or anything but whole valid UTF-8 characters.
    private static int? PlainCharacters(byte[] bytes)
    {
        foreach (var b in bytes)
        {
            if (b < 0x20 || b == (byte)'"' || b == (byte)'\\' || b == (byte)'<')
            {
                return null;
            }
        }
        try
        {
            return StrictUtf8.GetString(bytes).EnumerateRunes().Count();
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    /// <summary>Tokens as a flattened byte trie: node n has edges [EdgeStart[n], EdgeStart[n + 1]) and ends the tokens [IdStart[n], IdStart[n + 1]).</summary>
    private sealed class ByteTrie
    {
        private readonly int[] _edgeStart;
        private readonly byte[] _edgeByte;
        private readonly int[] _edgeTarget;
        private readonly int[] _idStart;
        private readonly int[] _ids;

        public ByteTrie(IEnumerable<(int Id, byte[] Bytes)> tokens)
        {
            var children = new List<Dictionary<byte, int>> { new() };
            var ends = new List<List<int>> { new() };
            var total = 0;
            foreach (var (id, bytes) in tokens)
            {
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
                total++;
            }
            _edgeStart = new int[children.Count + 1];
            _idStart = new int[children.Count + 1];
            _edgeByte = new byte[children.Count - 1];
            _edgeTarget = new int[children.Count - 1];
            _ids = new int[total];
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

        public int NodeCount { get; }

        public void Walk(GrammarState state, Action<int, GrammarState> allow) => Walk(0, state, allow);

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
    }
}
