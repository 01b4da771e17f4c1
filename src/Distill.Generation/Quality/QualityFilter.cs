using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
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
/// <see cref="Prepare"/> does the per-row work (text, hash, signature) without the lock, so callers may run it on several threads
/// and admit the prepared rows in order; <see cref="Admit(Sample)"/> does both.
/// </summary>
public sealed class QualityFilter
{
    /// <summary>Chance that a pair exactly at the threshold shares a band (and so is compared at all).</summary>
    public const double CandidateRecall = 0.97;

    private readonly QualityOptions _options;
    private readonly int _bands, _rowsPerBand;
    private readonly int _agreementsNeeded;
    private long _comparisons;
    // The first 128 bits of each admitted text's SHA-256: a sixth of the memory of its hex string, and no string per row.
    private readonly HashSet<UInt128> _exact = [];
    // Admitted rows' signatures, SignatureChunkRows to an array, and the LSH buckets as chains: the newest node of each
    // (band, hash) and, per node (row * bands + band), the node before it. Flat arrays of numbers instead of an array per row and
    // a list per bucket: at a million rows the garbage collector would otherwise trace ~15 million objects on every full
    // collection (templates stats over 1M rows spent most of its time there).
    private const int SignatureChunkRows = 4096;
    private readonly List<ulong[]> _signatureChunks = [];
    // The low byte of each row's first SketchLength minimums, side by side: one cache line that rules out most chance candidates
    // (equal minimums have equal low bytes, so low bytes that differ are minimums that differ) before the signature is read.
    private const int SketchLength = 64;
    private readonly List<byte[]> _sketchChunks = [];
    private int _rows;
    // A bucket's value: its newest chain node, or, once the chain is longer than CrowdedAfter, ~(index into _crowded), a list of its
    // rows side by side. Rows of one template make a few buckets very crowded, and most comparisons happen there: walking a chain
    // waits for each node before it can load the next row's sketch, where a list lets the processor load many at once.
    private const int CrowdedAfter = 16;
    private readonly Dictionary<(int Band, ulong Hash), int> _bucketNewest = [];
    private readonly List<int> _bucketPrevious = [];
    private readonly List<int> _chainLength = [];
    private readonly List<List<int>> _crowded = [];
    private readonly ulong[] _a, _b;
    private readonly Lock _lock = new();

    public QualityFilter(QualityOptions? options = null)
    {
        _options = options ?? new QualityOptions();
        if (_options.Permutations < 1) throw new ArgumentException("permutations must be positive", nameof(options));
        (_bands, _rowsPerBand) = BandsFor(_options.Permutations, _options.NearDuplicateThreshold);
        _agreementsNeeded = AgreementsNeeded(_options.Permutations, _options.NearDuplicateThreshold);
        var random = new Random(0x5eed);
        _a = Enumerable.Range(0, _options.Permutations).Select(_ => (ulong)random.NextInt64() | 1).ToArray();
        _b = Enumerable.Range(0, _options.Permutations).Select(_ => (ulong)random.NextInt64()).ToArray();
    }

    /// <summary>Signatures compared against so far (candidates from the LSH bands, a row once per band it shares): what near-dup checking costs.</summary>
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

    /// <summary>A row's part of the filter's work that needs no shared state: its length verdict, text hash and signature.</summary>
    public sealed class Prepared
    {
        internal string? LengthReject { get; init; }
        internal UInt128 Hash { get; init; }
        internal ulong[]? Signature { get; init; }
    }

    /// <summary>Adds a row that is already in the dataset (resume) without checking it.</summary>
    public void Seed(Sample sample)
    {
        var text = Text(sample);
        var signature = _options.NearDedup ? Signature(text) : null;
        lock (_lock) Add(Hash(text), signature);
    }

    /// <summary>Null and remembered when the sample passes; otherwise the reject reason (and nothing is remembered).</summary>
    public string? Admit(Sample sample) => Admit(Prepare(sample));

    /// <summary>The per-row work of <see cref="Admit(Prepared)"/>; thread-safe and independent of what was admitted before.</summary>
    public Prepared Prepare(Sample sample)
    {
        var final = sample.Messages.LastOrDefault(m => m.Role == ChatRoles.Assistant)?.Content?.Trim() ?? "";
        if (final.Length < _options.MinAnswerChars) return new Prepared { LengthReject = QualityRejectReasons.TooShort };
        if (_options.MaxAnswerChars is { } max && final.Length > max) return new Prepared { LengthReject = QualityRejectReasons.TooLong };
        var text = Text(sample);
        return new Prepared { Hash = Hash(text), Signature = _options.NearDedup ? Signature(text) : null };
    }

    /// <summary>
    /// <see cref="Admit(Prepared)"/> for each of <paramref name="rows"/>, in order, with the same verdicts; the comparisons with
    /// the rows admitted before the batch (most of the work in a large dataset) run on every core, then each row is checked
    /// against the rows of the batch admitted before it.
    /// </summary>
    public string?[] Admit(IReadOnlyList<Prepared> rows)
    {
        var verdicts = new string?[rows.Count];
        lock (_lock)
        {
            var before = _rows;
            var nearEarlier = new bool[rows.Count];
            if (before > 0)
            {
                Parallel.For(0, rows.Count, j =>
                {
                    if (rows[j] is { LengthReject: null, Signature: { } signature }) nearEarlier[j] = IsNearDuplicate(signature);
                });
            }
            for (var j = 0; j < rows.Count; j++) verdicts[j] = Verdict(rows[j], nearEarlier[j], searchFrom: before);
        }
        return verdicts;
    }

    /// <summary><see cref="Admit(Sample)"/> for a row prepared by <see cref="Prepare"/> (of this filter).</summary>
    public string? Admit(Prepared row)
    {
        lock (_lock) return Verdict(row, nearEarlier: false, searchFrom: 0);
    }

    /// <summary>
    /// One row's verdict, under the lock, remembering the row when it passes: its length, then an exact duplicate, then a
    /// near-duplicate (<paramref name="nearEarlier"/>: already found among the rows before <paramref name="searchFrom"/>, so only
    /// the rows admitted from there on are searched).
    /// </summary>
    private string? Verdict(Prepared row, bool nearEarlier, int searchFrom)
    {
        if (row.LengthReject is not null) return row.LengthReject;
        if (_options.ExactDedup && _exact.Contains(row.Hash)) return QualityRejectReasons.Duplicate;
        if (row.Signature is not null && (nearEarlier || IsNearDuplicate(row.Signature, searchFrom))) return QualityRejectReasons.NearDuplicate;
        Add(row.Hash, row.Signature);
        return null;
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

    private void Add(UInt128 hash, ulong[]? signature)
    {
        _exact.Add(hash);
        if (signature is null) return;
        var row = _rows++;
        if (row % SignatureChunkRows == 0)
        {
            _signatureChunks.Add(new ulong[SignatureChunkRows * signature.Length]);
            _sketchChunks.Add(new byte[SignatureChunkRows * SketchLength]);
        }
        signature.CopyTo(StoredSignature(row));
        Sketch(signature, StoredSketch(row));
        for (var band = 0; band < _bands; band++)
        {
            var key = (band, BandHash(signature, band));
            var node = row * _bands + band;
            // Every row has a node in every band (numbering stays row * bands + band); in a crowded bucket it is unused.
            if (!_bucketNewest.TryGetValue(key, out var head))
            {
                _bucketPrevious.Add(-1);
                _chainLength.Add(1);
                _bucketNewest[key] = node;
            }
            else if (head < 0)
            {
                _crowded[~head].Add(row);
                _bucketPrevious.Add(-1);
                _chainLength.Add(0);
            }
            else if (_chainLength[head] < CrowdedAfter)
            {
                _bucketPrevious.Add(head);
                _chainLength.Add(_chainLength[head] + 1);
                _bucketNewest[key] = node;
            }
            else
            {
                var rows = new List<int>(2 * CrowdedAfter);
                for (var n = head; n >= 0; n = _bucketPrevious[n]) rows.Add(n / _bands);
                rows.Reverse();
                rows.Add(row);
                _crowded.Add(rows);
                _bucketPrevious.Add(-1);
                _chainLength.Add(0);
                _bucketNewest[key] = ~(_crowded.Count - 1);
            }
        }
    }

    private Span<byte> StoredSketch(int row) => _sketchChunks[row / SignatureChunkRows].AsSpan(row % SignatureChunkRows * SketchLength, SketchLength);

    private static void Sketch(ReadOnlySpan<ulong> signature, Span<byte> sketch)
    {
        for (var i = 0; i < sketch.Length; i++) sketch[i] = i < signature.Length ? (byte)signature[i] : (byte)0;
    }

    /// <summary>A lower bound on the positions where two signatures differ: the sketch positions whose low bytes differ.</summary>
    private static int SketchMisses(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        var misses = 0;
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + Vector256<byte>.Count <= a.Length; i += Vector256<byte>.Count)
                misses += Vector256<byte>.Count - BitOperations.PopCount(Vector256.Equals(Vector256.Create(a[i..]), Vector256.Create(b[i..])).ExtractMostSignificantBits());
        }
        for (; i < a.Length; i++) if (a[i] != b[i]) misses++;
        return misses;
    }

    private Span<ulong> StoredSignature(int row) =>
        _signatureChunks[row / SignatureChunkRows].AsSpan(row % SignatureChunkRows * _options.Permutations, _options.Permutations);

    /// <summary>
    /// Whether an admitted row from <paramref name="fromRow"/> on shares a band with <paramref name="signature"/> and agrees with it
    /// at the threshold. Reads the index only, so the parallel pass of <see cref="Admit(IReadOnlyList{Prepared})"/> calls it on
    /// several threads. A row met again in a second band is compared again (the verdict is the same): remembering which rows
    /// were compared cost a cache miss per candidate, more than the rare second comparison.
    /// </summary>
    private bool IsNearDuplicate(ulong[] signature, int fromRow = 0)
    {
        Span<byte> sketch = stackalloc byte[SketchLength];
        Sketch(signature, sketch);
        var allowedMisses = signature.Length - _agreementsNeeded;
        long compared = 0;
        try
        {
            for (var band = 0; band < _bands; band++)
            {
                if (!_bucketNewest.TryGetValue((band, BandHash(signature, band)), out var head)) continue;
                if (head < 0)
                {
                    var rows = CollectionsMarshal.AsSpan(_crowded[~head]);
                    for (var k = rows.Length - 1; k >= 0 && rows[k] >= fromRow; k--)
                    {
                        compared++;
                        if (Matches(rows[k], sketch)) return true;
                    }
                    continue;
                }
                // Chains run from the newest row back.
                for (var node = head; node >= 0 && node / _bands >= fromRow; node = _bucketPrevious[node])
                {
                    compared++;
                    if (Matches(node / _bands, sketch)) return true;
                }
            }
            return false;

            bool Matches(int row, ReadOnlySpan<byte> sketch) =>
                // Sketches of signatures shorter than SketchLength are zero-padded alike: the padding never differs.
                SketchMisses(sketch, StoredSketch(row)) <= allowedMisses && Agrees(signature, StoredSignature(row), _agreementsNeeded);
        }
        finally
        {
            Interlocked.Add(ref _comparisons, compared);   // once per call: a shared counter per comparison made both cores wait
        }
    }

    /// <summary>
    /// The fewest equal positions of two signatures whose estimated similarity (equal / permutations) reaches the threshold;
    /// permutations + 1 when none does.
    /// </summary>
    internal static int AgreementsNeeded(int permutations, double threshold)
    {
        var k = 0;
        while (k <= permutations && (double)k / permutations < threshold) k++;
        return k;
    }

    /// <summary>
    /// Whether at least <paramref name="needed"/> positions of two signatures are equal. Stops as soon as too many differ: most
    /// candidates from the bands are chance matches (rows of one template share about half their shingles), and they are told
    /// apart after a third of the signature, without reading the rest of it from memory. Same verdict as counting all.
    /// </summary>
    internal static bool Agrees(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b, int needed)
    {
        var allowedMisses = a.Length - needed;
        var misses = 0;
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + Vector256<ulong>.Count <= a.Length; i += Vector256<ulong>.Count)
            {
                misses += Vector256<ulong>.Count - BitOperations.PopCount(Vector256.Equals(Vector256.Create(a[i..]), Vector256.Create(b[i..])).ExtractMostSignificantBits());
                if (misses > allowedMisses) return false;
            }
        }
        for (; i < a.Length; i++)
        {
            if (a[i] != b[i] && ++misses > allowedMisses) return false;
        }
        return true;
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

    /// <summary>
    /// The MinHash signature: for each permutation p, the least <c>h = a[p] * shingle + b[p]; h ^= h >> 29</c> over the text's
    /// shingles. Where the CPU multiplies 64-bit lanes (AVX-512), eight permutations at a time; the same numbers either way.
    /// </summary>
    private ulong[] Signature(string text) => Signature(text, vectorized: true);

    /// <param name="text">Normalized text.</param>
    /// <param name="vectorized">Whether to use the AVX-512 path where the CPU has it (tests compare both).</param>
    internal ulong[] Signature(string text, bool vectorized)
    {
        var k = _options.ShingleSize;
        var count = Math.Max(1, text.Length - k + 1);
        var rented = ArrayPool<ulong>.Shared.Rent(count);
        try
        {
            var shingles = rented.AsSpan(0, count);
            for (var s = 0; s < count; s++) shingles[s] = Fnv(text.AsSpan(s, Math.Min(k, text.Length - s)));
            return vectorized && CanVectorize ? SignatureVectorized(shingles) : SignatureScalar(shingles, 0);
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(rented);
        }
    }

    /// <summary>Whether <see cref="Signature(string, bool)"/> can take eight permutations at a time here.</summary>
    internal static bool CanVectorize => Vector512.IsHardwareAccelerated && Avx512DQ.IsSupported;

    private ulong[] SignatureScalar(ReadOnlySpan<ulong> shingles, int fromPermutation, ulong[]? signature = null)
    {
        signature ??= new ulong[_options.Permutations];
        for (var p = fromPermutation; p < signature.Length; p++) signature[p] = ulong.MaxValue;
        foreach (var shingle in shingles)
        {
            for (var p = fromPermutation; p < signature.Length; p++)
            {
                var h = unchecked(_a[p] * shingle + _b[p]);
                h ^= h >> 29;
                if (h < signature[p]) signature[p] = h;
            }
        }
        return signature;
    }

    private ulong[] SignatureVectorized(ReadOnlySpan<ulong> shingles)
    {
        var signature = new ulong[_options.Permutations];
        var p = 0;
        for (; p + Vector512<ulong>.Count <= signature.Length; p += Vector512<ulong>.Count)
        {
            var a = Vector512.Create(_a.AsSpan(p));
            var b = Vector512.Create(_b.AsSpan(p));
            var least = Vector512<ulong>.AllBitsSet;
            foreach (var shingle in shingles)
            {
                var h = a * Vector512.Create(shingle) + b;
                least = Vector512.Min(least, h ^ Vector512.ShiftRightLogical(h, 29));
            }
            least.CopyTo(signature.AsSpan(p));
        }
        return p == signature.Length ? signature : SignatureScalar(shingles, p, signature);
    }

    private static ulong Fnv(ReadOnlySpan<char> s)
    {
        ulong h = 14695981039346656037UL;
        foreach (var c in s) h = unchecked((h ^ c) * 1099511628211UL);
        return h;
    }

    private static UInt128 Hash(string text)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(text), digest);
        return BinaryPrimitives.ReadUInt128LittleEndian(digest);
    }
}
