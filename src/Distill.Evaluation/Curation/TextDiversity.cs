namespace Distill.Evaluation.Curation;

/// <summary>
/// How varied a set of generated texts is, on lower-cased word tokens: distinct-n (Li et al. 2016: unique n-grams over all
/// n-grams; 1 = no n-gram repeats anywhere) and self-similarity (mean pairwise Jaccard similarity of the texts' word n-gram
/// sets; 0 = no two texts share an n-gram, 1 = all texts the same). A template that makes the teacher say the same thing
/// every time scores low distinct-n and high self-similarity.
/// Distinct-n counts n-grams by 64-bit hashes of their lower-cased words (<see cref="DistinctNGrams"/>), not as strings: a million
/// rows hold ~10^8 n-grams, and the counter keeps only the distinct hashes (exact but for 64-bit collisions, about one in 10^9
/// at 10^5 distinct n-grams).
/// </summary>
public static class TextDiversity
{
    /// <summary>Lower-cased runs of letters and digits; everything else separates words.</summary>
    public static IReadOnlyList<string> Words(string? text)
    {
        var words = new List<string>();
        if (string.IsNullOrEmpty(text)) return words;
        var start = -1;
        for (var i = 0; i <= text.Length; i++)
        {
            var inWord = i < text.Length && char.IsLetterOrDigit(text[i]);
            if (inWord && start < 0) start = i;
            else if (!inWord && start >= 0)
            {
                words.Add(text[start..i].ToLowerInvariant());
                start = -1;
            }
        }
        return words;
    }

    /// <summary>Unique n-grams over all n-grams of all texts; 0 when no text has n words.</summary>
    public static double DistinctN(IEnumerable<IReadOnlyList<string>> texts, int n)
    {
        var counter = new DistinctNGrams(n);
        foreach (var words in texts) counter.Add(words.Select(w => WordHash(w)).ToList());
        return counter.Value;
    }

    /// <summary>The hash of a word as distinct-n counts it: its lower-cased characters (FNV-1a, then a 64-bit finalizer).</summary>
    public static ulong WordHash(ReadOnlySpan<char> word)
    {
        var h = 14695981039346656037UL;
        foreach (var c in word) h = unchecked((h ^ char.ToLowerInvariant(c)) * 1099511628211UL);
        return Mix(h);
    }

    /// <summary>
    /// Appends the <see cref="WordHash"/> of each word of <paramref name="text"/> (as <see cref="Words"/> splits it) without making a
    /// string per word.
    /// </summary>
    public static void AppendWordHashes(string? text, List<ulong> hashes)
    {
        if (string.IsNullOrEmpty(text)) return;
        var start = -1;
        for (var i = 0; i <= text.Length; i++)
        {
            var inWord = i < text.Length && char.IsLetterOrDigit(text[i]);
            if (inWord && start < 0) start = i;
            else if (!inWord && start >= 0)
            {
                hashes.Add(WordHash(text.AsSpan(start, i - start)));
                start = -1;
            }
        }
    }

    /// <summary>The hash of the n-gram of <paramref name="n"/> words starting at <paramref name="start"/> (order matters).</summary>
    public static ulong NGramHash(IReadOnlyList<ulong> words, int start, int n)
    {
        var h = words[start];
        for (var j = 1; j < n; j++) h = Mix(unchecked(h * 0x9E3779B97F4A7C15UL) ^ words[start + j]);
        return h;
    }

    /// <summary>splitmix64's finalizer: spreads every input bit over the whole hash.</summary>
    private static ulong Mix(ulong h)
    {
        h = unchecked((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9UL);
        h = unchecked((h ^ (h >> 27)) * 0x94D049BB133111EBUL);
        return h ^ (h >> 31);
    }

    /// <summary>
    /// Mean Jaccard similarity of the n-gram sets of every pair of texts (a text shorter than n words counts as one n-gram of
    /// all its words); 0 with fewer than two texts. Quadratic in the number of texts: pass a sample.
    /// </summary>
    public static double SelfSimilarity(IReadOnlyList<IReadOnlyList<string>> texts, int n = 3)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        if (texts.Count < 2) return 0;
        var sets = texts.Select(t => t.Count >= n ? NGrams(t, n).ToHashSet(StringComparer.Ordinal) : new HashSet<string>([string.Join(' ', t)], StringComparer.Ordinal)).ToList();
        double sum = 0;
        long pairs = 0;
        for (var i = 0; i < sets.Count; i++)
        {
            for (var j = i + 1; j < sets.Count; j++)
            {
                sum += Jaccard(sets[i], sets[j]);
                pairs++;
            }
        }
        return sum / pairs;
    }

    /// <summary>|a ∩ b| / |a ∪ b|; 1 for two empty sets.</summary>
    public static double Jaccard(IReadOnlySet<string> a, IReadOnlySet<string> b)
    {
        if (a.Count == 0 && b.Count == 0) return 1;
        var shared = a.Count <= b.Count ? a.Count(b.Contains) : b.Count(a.Contains);
        return (double)shared / (a.Count + b.Count - shared);
    }

    private static IEnumerable<string> NGrams(IReadOnlyList<string> words, int n)
    {
        for (var i = 0; i + n <= words.Count; i++) yield return string.Join(' ', words.Skip(i).Take(n));
    }
}
