namespace Distill.Core.Configuration;

/// <summary>The "did you mean" of a misspelled setting: the closest known name by edit distance, if any is close enough.</summary>
public static class NameSuggestion
{
    /// <summary>The candidate nearest to <paramref name="key"/> (case-insensitive), or null when none is within a third of its length (at least 2 edits).</summary>
    public static string? Closest(string key, IEnumerable<string> candidates) => candidates
        .Select(c => (Candidate: c, Distance: Levenshtein(key.ToLowerInvariant(), c.ToLowerInvariant())))
        .Where(x => x.Distance <= Math.Max(2, key.Length / 3))
        .OrderBy(x => x.Distance)
        .Select(x => x.Candidate)
        .FirstOrDefault();

    public static int Levenshtein(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }
            previous = current;
        }
        return previous[b.Length];
    }
}
