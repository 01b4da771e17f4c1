using TorchSharp;
using static TorchSharp.torch;

namespace Distill.Models.Generation;

/// <summary>
/// Keys and values of recently prefilled prompts, so that a prompt which starts like one of them (the same system prompt and
/// tools, or the previous turn of the same conversation) prefills only the rest: automatic prefix caching, as vLLM does it,
/// at token rather than block granularity. An agent's second turn repeats its first whole, and every request repeats the
/// system prompt, so most prompt tokens are found here. Least recently used prompts are dropped beyond a memory budget; a
/// prompt that extends a stored one replaces it. Owned by one decoding loop (not thread-safe).
/// </summary>
public sealed class PrefixCache : IDisposable
{
    private readonly List<Entry> _entries = [];
    private long _clock;
    private long _bytes;

    /// <summary>64 MiB: 32,768 prompt tokens of the quickstart's teacher (4 layers, 2 key/value heads of 32), 8,192 of world-teacher.</summary>
    public const long DefaultByteBudget = 64L << 20;

    /// <param name="byteBudget">Bytes of keys and values kept at most (over all stored prompts).</param>
    /// <param name="minimumMatch">Shorter common prefixes are not reused: gathering them costs more than prefilling them.</param>
    public PrefixCache(long byteBudget = DefaultByteBudget, int minimumMatch = 8)
    {
        if (byteBudget < 1) throw new ArgumentOutOfRangeException(nameof(byteBudget));
        ByteBudget = byteBudget;
        MinimumMatch = Math.Max(1, minimumMatch);
    }

    public long ByteBudget { get; }
    public int MinimumMatch { get; }

    /// <summary>Prompt tokens whose keys and values came from here instead of a forward pass.</summary>
    public long TokensReused { get; private set; }

    /// <summary>Prompt tokens that were prefilled.</summary>
    public long TokensPrefilled { get; private set; }

    /// <summary>Prompts stored now.</summary>
    public int Prompts => _entries.Count;

    /// <summary>
    /// The stored prompt sharing the longest prefix with <paramref name="prompt"/> and that length, at most prompt length - 1 (the
    /// last token is always run, for its logits); (null, 0) when no prefix of at least <see cref="MinimumMatch"/> tokens is stored.
    /// </summary>
    public (PrefixEntry? Entry, int Length) Match(IReadOnlyList<long> prompt)
    {
        Entry? best = null;
        var bestLength = 0;
        foreach (var entry in _entries)
        {
            var ids = entry.Ids;
            var limit = Math.Min(ids.Length, prompt.Count - 1);
            var n = 0;
            while (n < limit && ids[n] == prompt[n]) n++;
            if (n > bestLength)
            {
                best = entry;
                bestLength = n;
            }
        }
        if (best is null || bestLength < MinimumMatch) return (null, 0);
        best.LastUsed = ++_clock;
        return (best.Public, bestLength);
    }

    /// <summary>Counts a prompt's prefill: <paramref name="reused"/> tokens from here, the rest computed.</summary>
    public void Record(int promptTokens, int reused)
    {
        TokensReused += reused;
        TokensPrefilled += promptTokens - reused;
    }

    /// <summary>
    /// Stores a prompt's keys and values ([1, kvHeads, prompt length, headDim] per layer; the cache takes them over and disposes
    /// them). Stored prompts that this one extends are dropped (it covers them); then the least recently used, beyond the budget.
    /// </summary>
    public void Add(IReadOnlyList<long> prompt, (Tensor Keys, Tensor Values)[] layers)
    {
        var ids = prompt.ToArray();
        foreach (var covered in _entries.Where(e => e.Ids.Length <= ids.Length && ids.AsSpan(0, e.Ids.Length).SequenceEqual(e.Ids)).ToList())
            Remove(covered);
        var bytes = layers.Sum(l => l.Keys.NumberOfElements * l.Keys.ElementSize + l.Values.NumberOfElements * l.Values.ElementSize);
        if (bytes > ByteBudget)
        {
            foreach (var (k, v) in layers)
            {
                k.Dispose();
                v.Dispose();
            }
            return;
        }
        foreach (var (k, v) in layers)
        {
            k.DetachFromDisposeScope();
            v.DetachFromDisposeScope();
        }
        _entries.Add(new Entry(ids, layers, bytes) { LastUsed = ++_clock });
        _bytes += bytes;
        while (_bytes > ByteBudget) Remove(_entries.MinBy(e => e.LastUsed)!);
    }

    /// <summary>True when exactly this prompt is stored (nothing to add).</summary>
    public bool Contains(IReadOnlyList<long> prompt) => _entries.Any(e => e.Ids.Length == prompt.Count && e.Ids.SequenceEqual(prompt));

    private void Remove(Entry entry)
    {
        _entries.Remove(entry);
        _bytes -= entry.Bytes;
        foreach (var (k, v) in entry.Public.Layers)
        {
            k.Dispose();
            v.Dispose();
        }
    }

    public void Dispose()
    {
        foreach (var entry in _entries.ToList()) Remove(entry);
    }

    private sealed class Entry(long[] ids, (Tensor Keys, Tensor Values)[] layers, long bytes)
    {
        public long[] Ids { get; } = ids;
        public long Bytes { get; } = bytes;
        public PrefixEntry Public { get; } = new(layers);
        public long LastUsed { get; set; }
    }
}

/// <summary>A stored prompt's keys and values per layer, [1, kvHeads, tokens, headDim]; read-only, owned by the <see cref="PrefixCache"/>.</summary>
public sealed record PrefixEntry((Tensor Keys, Tensor Values)[] Layers);
