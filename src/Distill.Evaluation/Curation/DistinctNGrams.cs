namespace Distill.Evaluation.Curation;

/// <summary>Distinct-n over texts added one at a time (as word hashes, <see cref="TextDiversity.AppendWordHashes"/>).</summary>
public sealed class DistinctNGrams
{
    private readonly int _n;
    private readonly HashSet<ulong> _unique = [];
    private long _total;

    public DistinctNGrams(int n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        _n = n;
    }

    public void Add(IReadOnlyList<ulong> wordHashes)
    {
        for (var i = 0; i + _n <= wordHashes.Count; i++)
        {
            _unique.Add(TextDiversity.NGramHash(wordHashes, i, _n));
            _total++;
        }
    }

    /// <summary>Unique n-grams over all n-grams added; 0 when no text had n words.</summary>
    public double Value => _total == 0 ? 0 : (double)_unique.Count / _total;
}
