using System.Security.Cryptography;
using System.Text;
using Distill.Core.Samples;

namespace Distill.Generation.Quality;

/// <summary>Settings of <see cref="QualityFilter"/>.</summary>
public sealed record QualityOptions
{
    public bool ExactDedup { get; init; } = true;
    public bool NearDedup { get; init; } = true;

    /// <summary>Estimated Jaccard similarity (of character shingles) at or above which a sample is a near-duplicate.</summary>
    public double NearDuplicateThreshold { get; init; } = 0.85;

    public int Permutations { get; init; } = 128;
    public int ShingleSize { get; init; } = 5;

    /// <summary>Fewest characters in the final assistant turn.</summary>
    public int MinAnswerChars { get; init; } = 2;

    /// <summary>Most characters in the final assistant turn; null for no limit.</summary>
    public int? MaxAnswerChars { get; init; }
}

public static class QualityRejectReasons
{
    public const string Duplicate = "duplicate";
    public const string NearDuplicate = "near_duplicate";
    public const string TooShort = "too_short";
    public const string TooLong = "too_long";
}

/// <summary>
/// Length filters, exact dedup (SHA-256 of the normalized conversation text) and near-dup (MinHash over character shingles,
/// LSH banding for candidates, then the estimated Jaccard against the threshold), across everything admitted so far: seed it
/// with the rows already committed when resuming. Thread-safe.
/// The bands are shaped for the threshold (<see cref="BandsFor"/>): rows from one template share most of their shingles
/// (Jaccard 0.4-0.6), and with short bands nearly every earlier row became a candidate, so each admission cost grew with the
/// dataset (issue 16: the runner fell from ~380 to ~217 samples/s over 10,000 tasks).
/// </summary>
public sealed class QualityFilter
{
    /// <summary>Chance that a pair exactly at the threshold shares a band (and so is compared at all).</summary>
    public const double CandidateRecall = 0.97;

    private readonly QualityOptions _options;
    private readonly int _bands, _rowsPerBand;
    private long _comparisons;
    private readonly HashSet<string> _exact = new(StringComparer.Ordinal);
    private readonly List<ulong[]> _signatures = [];
    private readonly Dictionary<(int Band, ulong Hash), List<int>> _buckets = [];
    private readonly ulong[] _a, _b;
    private readonly Lock _lock = new();

    public QualityFilter(QualityOptions? options = null)
    {
        _options = options ?? new QualityOptions();
        if (_options.Permutations < 1) throw new ArgumentException("permutations must be positive", nameof(options));
        (_bands, _rowsPerBand) = BandsFor(_options.Permutations, _options.NearDuplicateThreshold);
        var random = new Random(0x5eed);
        _a = Enumerable.Range(0, _options.Permutations).Select(_ => (ulong)random.NextInt64() | 1).ToArray();
        _b = Enumerable.Range(0, _options.Permutations).Select(_ => (ulong)random.NextInt64()).ToArray();
    }

    /// <summary>Signatures compared against so far (candidates from the LSH bands): what near-dup checking costs.</summary>
    public long Comparisons => Interlocked.Read(ref _comparisons);

    /// <summary>
    /// The LSH band shape for <paramref name="threshold"/>: the longest bands (fewest chance candidates: a pair with Jaccard J
    /// shares a band with probability 1 - (1 - J^r)^b) for which a pair at the threshold is still a candidate with probability
    /// at least <see cref="CandidateRecall"/>. 128 permutations at 0.85: 14 bands of 9 rows (0.975; a pair at Jaccard 0.45 is a
    /// candidate with probability 0.011, against 0.74 with 32 bands of 4).
    /// </summary>
    public static (int Bands, int RowsPerBand) BandsFor(int permutations, double threshold)
    {
        for (var rows = permutations; rows >= 1; rows--)
        {
            var bands = permutations / rows;
            if (1 - Math.Pow(1 - Math.Pow(threshold, rows), bands) >= CandidateRecall) return (bands, rows);
        }
        return (permutations, 1);
    }

    /// <summary>Adds a row that is already in the dataset (resume) without checking it.</summary>
    public void Seed(Sample sample)
    {
        var text = Text(sample);
        var signature = _options.NearDedup ? Signature(text) : null;
        lock (_lock) Add(text, signature);
    }

    /// <summary>Null and remembered when the sample passes; otherwise the reject reason (and nothing is remembered).</summary>
    public string? Admit(Sample sample)
    {
        var final = sample.Messages.LastOrDefault(m => m.Role == ChatRoles.Assistant)?.Content?.Trim() ?? "";
        if (final.Length < _options.MinAnswerChars) return QualityRejectReasons.TooShort;
        if (_options.MaxAnswerChars is { } max && final.Length > max) return QualityRejectReasons.TooLong;
        var text = Text(sample);
        var signature = _options.NearDedup ? Signature(text) : null;
        lock (_lock)
        {
            if (_options.ExactDedup && _exact.Contains(Hash(text))) return QualityRejectReasons.Duplicate;
            if (signature is not null && IsNearDuplicate(signature)) return QualityRejectReasons.NearDuplicate;
            Add(text, signature);
            return null;
        }
    }

    /// <summary>The estimated Jaccard similarity of two texts' shingle sets.</summary>
    public double Similarity(string x, string y)
    {
        var a = Signature(Normalize(x));
        var b = Signature(Normalize(y));
        return Estimate(a, b);
    }

    /// <summary>Lower-cased, whitespace-collapsed text of every user and assistant turn (the content the student learns from).</summary>
    public static string Text(Sample sample)
    {
        var sb = new StringBuilder();
        foreach (var m in sample.Messages.Where(m => m.Role is ChatRoles.User or ChatRoles.Assistant))
        {
            sb.Append(m.Role).Append(": ").Append(m.Content).Append(' ');
            foreach (var c in m.ToolCalls) sb.Append(c.Name).Append(c.Arguments).Append(' ');
        }
        return Normalize(sb.ToString());
    }

    private static string Normalize(string text) =>
        string.Join(' ', text.ToLowerInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    private void Add(string text, ulong[]? signature)
    {
        _exact.Add(Hash(text));
        if (signature is null) return;
        var index = _signatures.Count;
        _signatures.Add(signature);
        for (var band = 0; band < _bands; band++)
        {
            var key = (band, BandHash(signature, band));
            if (!_buckets.TryGetValue(key, out var list)) _buckets[key] = list = [];
            list.Add(index);
        }
    }

    private bool IsNearDuplicate(ulong[] signature)
    {
        var seen = new HashSet<int>();
        for (var band = 0; band < _bands; band++)
        {
            if (!_buckets.TryGetValue((band, BandHash(signature, band)), out var candidates)) continue;
            foreach (var i in candidates)
            {
                if (!seen.Add(i)) continue;
                Interlocked.Increment(ref _comparisons);
                if (Estimate(signature, _signatures[i]) >= _options.NearDuplicateThreshold) return true;
            }
        }
        return false;
    }

    private static double Estimate(ulong[] a, ulong[] b)
    {
        var same = 0;
        for (var i = 0; i < a.Length; i++) if (a[i] == b[i]) same++;
        return (double)same / a.Length;
    }

    private ulong BandHash(ulong[] signature, int band)
    {
        ulong h = 14695981039346656037UL;
        for (var i = band * _rowsPerBand; i < (band + 1) * _rowsPerBand; i++) h = (h ^ signature[i]) * 1099511628211UL;
        return h;
    }

    private ulong[] Signature(string text)
    {
        var signature = Enumerable.Repeat(ulong.MaxValue, _options.Permutations).ToArray();
        var k = _options.ShingleSize;
        var count = Math.Max(1, text.Length - k + 1);
        for (var s = 0; s < count; s++)
        {
            var shingle = Fnv(text.AsSpan(s, Math.Min(k, text.Length - s)));
            for (var p = 0; p < signature.Length; p++)
            {
                var h = unchecked(_a[p] * shingle + _b[p]);
                h ^= h >> 29;
                if (h < signature[p]) signature[p] = h;
            }
        }
        return signature;
    }

    private static ulong Fnv(ReadOnlySpan<char> s)
    {
        ulong h = 14695981039346656037UL;
        foreach (var c in s) h = unchecked((h ^ c) * 1099511628211UL);
        return h;
    }

    private static string Hash(string text) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
