using System.Collections.Concurrent;
using System.Text;

namespace Distill.Models.Tokenization;

/// <summary>
/// Distill's own byte-level BPE encoder, following Hugging Face tokenizers' algorithm: split off added tokens,
/// normalize, pre-tokenize with the regexes, map UTF-8 bytes to the byte alphabet, then repeatedly apply the
/// lowest-ranked merge (leftmost first). Used where Microsoft.ML.Tokenizers cannot reproduce a file faithfully
/// (several split patterns, NFC, ignore_merges) and as the reference the library is tested against.
/// </summary>
public sealed class ByteLevelBpeTokenizer : ByteLevelTokenizerBase
{
    private const int MaxCachedWords = 200_000;

    private readonly AddedTokenSplitter _addedTokenSplitter;
    private readonly WordSplitter _wordSplitter;
    private readonly Dictionary<(int Left, int Right), (int Rank, int Merged)> _merges;
    private readonly int[] _byteIds;
    private readonly int? _unknownId;
    private readonly ConcurrentDictionary<string, int[]> _wordCache = new(StringComparer.Ordinal);

    public ByteLevelBpeTokenizer(BpeTokenizerDefinition definition, SpecialTokenNames names)
        : base(definition, names)
    {
        if (definition.NormalizeNfc && !UnicodeNfc.IsAvailable)
        {
            throw new Core.Errors.DistillException(
                $"Tokenizer '{definition.Source}' normalizes text to Unicode NFC, which this machine cannot do (no ICU library found).",
                "Install ICU (Debian: apt-get install libicu72) so text is tokenized as the model expects.");
        }
        _addedTokenSplitter = new AddedTokenSplitter(definition.AddedTokens);
        _wordSplitter = new WordSplitter(definition.SplitPatterns);
        _unknownId = definition.UnknownToken is { } unk && definition.Vocab.TryGetValue(unk, out var unkId) ? unkId : null;
        _byteIds = new int[256];
        for (var b = 0; b < 256; b++)
        {
            _byteIds[b] = definition.Vocab.TryGetValue(ByteLevelAlphabet.ToChar((byte)b).ToString(), out var id) ? id : -1;
        }
        _merges = new Dictionary<(int, int), (int, int)>(definition.Merges.Count);
        for (var rank = 0; rank < definition.Merges.Count; rank++)
        {
            var (left, right) = definition.Merges[rank];
            // The base class has checked that every merge's tokens exist.
            var leftId = definition.Vocab[left];
            var rightId = definition.Vocab[right];
            var mergedId = definition.Vocab[left + right];
            _merges.TryAdd((leftId, rightId), (rank, mergedId));
        }
    }

    public override int[] Encode(string text)
    {
        var ids = new List<int>(text.Length / 3 + 4);
        foreach (var (piece, addedId) in _addedTokenSplitter.Split(text))
        {
            if (addedId is { } id)
            {
                ids.Add(id);
                continue;
            }
            var normalized = Definition.NormalizeNfc ? UnicodeNfc.Normalize(piece) : piece;
            foreach (var word in _wordSplitter.Split(normalized))
            {
                ids.AddRange(EncodeWord(word));
            }
        }
        return ids.ToArray();
    }

    private int[] EncodeWord(string word)
    {
        if (_wordCache.TryGetValue(word, out var cached))
        {
            return cached;
        }
        var byteLevel = ByteLevelAlphabet.Encode(word);
        int[] result;
        if (Definition.IgnoreMerges && Definition.Vocab.TryGetValue(byteLevel, out var whole))
        {
            result = [whole];
        }
        else
        {
            result = MergeBytes(Encoding.UTF8.GetBytes(word));
        }
        if (_wordCache.Count >= MaxCachedWords)
        {
            _wordCache.Clear();
        }
        _wordCache[word] = result;
        return result;
    }

    private int[] MergeBytes(byte[] bytes)
    {
        var symbols = new List<int>(bytes.Length);
        foreach (var b in bytes)
        {
            var id = _byteIds[b];
            if (id >= 0)
            {
                symbols.Add(id);
            }
            else if (_unknownId is { } unk)
            {
                symbols.Add(unk);
            }
            // Like Hugging Face without an unk token, a byte missing from the vocabulary is dropped.
        }
        return ApplyMerges(symbols);
    }

    // Hugging Face's algorithm: a queue of candidate merges ordered by (rank, position) over a linked list of symbols,
    // so a word of n bytes costs O(n log n); rescanning the word after each merge is O(n^2) and stalls on long
    // unbroken runs (base64, minified code).
    private int[] ApplyMerges(List<int> initial)
    {
        var count = initial.Count;
        if (count < 2)
        {
            return initial.ToArray();
        }
        var symbols = initial.ToArray();
        var next = new int[count];
        var previous = new int[count];
        for (var i = 0; i < count; i++)
        {
            next[i] = i + 1 < count ? i + 1 : -1;
            previous[i] = i - 1;
        }
        var candidates = new PriorityQueue<(int Left, int LeftId, int RightId, int Merged), (int Rank, int Position)>();
        void Consider(int left)
        {
            var right = left < 0 ? -1 : next[left];
            if (right >= 0 && _merges.TryGetValue((symbols[left], symbols[right]), out var merge))
            {
                candidates.Enqueue((left, symbols[left], symbols[right], merge.Merged), (merge.Rank, left));
            }
        }
        for (var i = 0; i < count - 1; i++)
        {
            Consider(i);
        }
        while (candidates.TryDequeue(out var candidate, out _))
        {
            var (left, leftId, rightId, merged) = candidate;
            var right = next[left];
            // Entries go stale when a neighbour merged first; symbols only ever grow, so ids tell.
            if (symbols[left] != leftId || right < 0 || symbols[right] != rightId)
            {
                continue;
            }
            symbols[left] = merged;
            symbols[right] = -1;
            next[left] = next[right];
            if (next[right] >= 0)
            {
                previous[next[right]] = left;
            }
            Consider(previous[left]);
            Consider(left);
        }
        var result = new List<int>(count);
        for (var i = 0; i >= 0; i = next[i])
        {
            result.Add(symbols[i]);
        }
        return result.ToArray();
    }
}
