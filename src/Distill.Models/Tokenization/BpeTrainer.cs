namespace Distill.Models.Tokenization;

/// <summary>
/// Learns a byte-level BPE tokenizer from text, as Hugging Face's BpeTrainer does: special tokens take the first ids,
/// the 256 byte characters the next, then each step merges the most frequent adjacent pair (ties: the pair of smaller
/// ids). Pair counts are kept and updated only for the words a merge touches, so a step costs what it changes
/// rather than a pass over the corpus.
/// </summary>
public static class BpeTrainer
{
    /// <param name="corpus">Training text, any number of documents; special tokens inside it are cut out, never merged.</param>
    /// <param name="vocabSize">The total size wanted: special tokens + 256 bytes + merges. Less comes back if the corpus runs out of pairs.</param>
    /// <param name="specialTokens">Added as special tokens with ids 0, 1, ... in this order (e.g. <see cref="ChatTokens.All"/>).</param>
    /// <param name="minPairFrequency">Pairs seen fewer times than this are never merged.</param>
    /// <param name="splitPatterns">
    /// The pre-tokenizer regexes, applied in turn, that cut text into the words merges stay inside; recorded in the
    /// definition so encoding splits the same way. Null means GPT-2's (<see cref="PreTokenizerPatterns.Gpt2"/>);
    /// <see cref="PreTokenizerPatterns.Qwen2"/> keeps every digit a token of its own.
    /// </param>
    public static BpeTokenizerDefinition Train(
        IEnumerable<string> corpus, int vocabSize, IReadOnlyList<string> specialTokens, int minPairFrequency = 2,
        IReadOnlyList<string>? splitPatterns = null)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentNullException.ThrowIfNull(specialTokens);
        IReadOnlyList<string> patterns = splitPatterns?.ToList() ?? [PreTokenizerPatterns.Gpt2];
        var distinctSpecials = specialTokens.Distinct(StringComparer.Ordinal).ToList();
        if (distinctSpecials.Any(string.IsNullOrEmpty))
        {
            throw new ArgumentException("Special tokens must be non-empty.", nameof(specialTokens));
        }
        var baseSize = distinctSpecials.Count + 256;
        if (vocabSize < baseSize)
        {
            throw new ArgumentOutOfRangeException(nameof(vocabSize), vocabSize,
                $"A byte-level vocabulary needs at least {baseSize} entries ({distinctSpecials.Count} special tokens + 256 bytes).");
        }

        var tokens = new List<string>(vocabSize);
        tokens.AddRange(distinctSpecials);
        tokens.AddRange(ByteLevelAlphabet.Characters.Select(c => c.ToString()));
        var tokenIds = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < tokens.Count; i++)
        {
            tokenIds[tokens[i]] = i;
        }

        var (words, counts) = CountWords(corpus, distinctSpecials, distinctSpecials.Count, new WordSplitter(patterns));
        var pairCounts = new Dictionary<long, long>();
        var pairWords = new Dictionary<long, HashSet<int>>();
        for (var w = 0; w < words.Count; w++)
        {
            var symbols = words[w];
            for (var i = 0; i < symbols.Length - 1; i++)
            {
                var pair = Pack(symbols[i], symbols[i + 1]);
                pairCounts[pair] = pairCounts.GetValueOrDefault(pair) + counts[w];
                WordsOf(pairWords, pair).Add(w);
            }
        }
        var queue = new PriorityQueue<long, (long NegativeCount, long Pair)>();
        foreach (var (pair, count) in pairCounts)
        {
            queue.Enqueue(pair, (-count, pair));
        }

        var merges = new List<(string, string)>();
        var delta = new Dictionary<long, long>();
        while (tokens.Count < vocabSize && queue.TryDequeue(out var best, out var priority))
        {
            var current = pairCounts.GetValueOrDefault(best);
            if (current != -priority.NegativeCount)
            {
                // Stale entry: the count changed since it was queued; requeue with the true count.
                if (current > 0)
                {
                    queue.Enqueue(best, (-current, best));
                }
                continue;
            }
            if (current < minPairFrequency)
            {
                break;
            }
            var (left, right) = Unpack(best);
            var mergedText = tokens[left] + tokens[right];
            if (!tokenIds.TryGetValue(mergedText, out var merged))
            {
                merged = tokens.Count;
                tokens.Add(mergedText);
                tokenIds[mergedText] = merged;
            }
            merges.Add((tokens[left], tokens[right]));

            delta.Clear();
            foreach (var w in pairWords[best])
            {
                var replaced = Replace(words[w], left, right, merged);
                if (replaced is null)
                {
                    continue;
                }
                AddPairs(delta, words[w], -counts[w]);
                AddPairs(delta, replaced, counts[w]);
                words[w] = replaced;
                for (var i = 0; i < replaced.Length - 1; i++)
                {
                    if (replaced[i] == merged || replaced[i + 1] == merged)
                    {
                        WordsOf(pairWords, Pack(replaced[i], replaced[i + 1])).Add(w);
                    }
                }
            }
            pairWords.Remove(best);
            foreach (var (pair, change) in delta)
            {
                if (change == 0)
                {
                    continue;
                }
                var updated = pairCounts.GetValueOrDefault(pair) + change;
                if (updated <= 0)
                {
                    pairCounts.Remove(pair);
                }
                else
                {
                    pairCounts[pair] = updated;
                }
                // Only growth needs a new queue entry; shrunk pairs are caught as stale when they surface.
                if (change > 0)
                {
                    queue.Enqueue(pair, (-updated, pair));
                }
            }
        }

        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < tokens.Count; i++)
        {
            vocab[tokens[i]] = i;
        }
        return new BpeTokenizerDefinition
        {
            Vocab = vocab,
            Merges = merges,
            AddedTokens = distinctSpecials.Select((t, i) => new AddedToken(i, t, Special: true)).ToList(),
            SplitPatterns = patterns,
            Source = "trained",
        };
    }

    private static (List<int[]> Words, List<long> Counts) CountWords(
        IEnumerable<string> corpus, IReadOnlyList<string> specials, int firstByteId, WordSplitter wordSplitter)
    {
        var splitter = new AddedTokenSplitter(specials.Select((t, i) => new AddedToken(i, t, true)));
        var frequencies = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var document in corpus)
        {
            foreach (var (piece, addedId) in splitter.Split(document))
            {
                if (addedId is not null)
                {
                    continue;
                }
                foreach (var word in wordSplitter.Split(piece))
                {
                    frequencies[word] = frequencies.GetValueOrDefault(word) + 1;
                }
            }
        }
        var words = new List<int[]>(frequencies.Count);
        var counts = new List<long>(frequencies.Count);
        // Ordinal order makes training independent of dictionary iteration order.
        foreach (var (word, count) in frequencies.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            words.Add(System.Text.Encoding.UTF8.GetBytes(word).Select(b => firstByteId + b).ToArray());
            counts.Add(count);
        }
        return (words, counts);
    }

    /// <summary>The word with every non-overlapping (left, right), scanned left to right, replaced; null when there is none.</summary>
    private static int[]? Replace(int[] symbols, int left, int right, int merged)
    {
        List<int>? result = null;
        for (var i = 0; i < symbols.Length; i++)
        {
            if (i < symbols.Length - 1 && symbols[i] == left && symbols[i + 1] == right)
            {
                result ??= new List<int>(symbols.Take(i));
                result.Add(merged);
                i++;
            }
            else
            {
                result?.Add(symbols[i]);
            }
        }
        return result?.ToArray();
    }

    private static void AddPairs(Dictionary<long, long> delta, int[] symbols, long count)
    {
        for (var i = 0; i < symbols.Length - 1; i++)
        {
            var pair = Pack(symbols[i], symbols[i + 1]);
            delta[pair] = delta.GetValueOrDefault(pair) + count;
        }
    }

    private static HashSet<int> WordsOf(Dictionary<long, HashSet<int>> pairWords, long pair)
    {
        if (!pairWords.TryGetValue(pair, out var set))
        {
            set = [];
            pairWords[pair] = set;
        }
        return set;
    }

    private static long Pack(int left, int right) => ((long)left << 32) | (uint)right;

    private static (int Left, int Right) Unpack(long pair) => ((int)(pair >> 32), (int)(pair & 0xFFFFFFFF));
}
