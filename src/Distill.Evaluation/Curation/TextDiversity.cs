namespace Distill.Evaluation.Curation;

/// <summary>
/// How varied a set of generated texts is, on lower-cased word tokens: distinct-n (Li et al. 2016: unique n-grams over all
/// n-grams; 1 = no n-gram repeats anywhere) and self-similarity (mean pairwise Jaccard similarity of the texts' word n-gram
/// sets; 0 = no two texts share an n-gram, 1 = all texts the same). A template that makes the teacher say the same thing
/// every time scores low distinct-n and high self-similarity.
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
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        var unique = new HashSet<string>(StringComparer.Ordinal);
        long total = 0;
        foreach (var words in texts)
        {
            foreach (var gram in NGrams(words, n))
            {
                unique.Add(gram);
                total++;
            }
        }
        return total == 0 ? 0 : (double)unique.Count / total;
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
