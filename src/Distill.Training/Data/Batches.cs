using TorchSharp;
using static TorchSharp.torch;

namespace Distill.Training.Data;

/// <summary>How examples become [B, T] rows (T at most <c>data.max_length</c>).</summary>
public enum BatchingMode
{
    /// <summary>Concatenate examples and cut rows of T tokens (no padding except the last row; attention may cross examples).</summary>
    Pack,
    /// <summary>One example per row, padded to the batch's longest; examples of similar length are batched together to waste little compute.</summary>
    Bucket,
}

/// <summary>A batch on the host, [B, T] row-major; padding has input id <c>pad</c>, label -100 and attention mask 0.
/// <see cref="PromptLabels"/> is null unless the examples carry prompt labels (<c>loss.prompt_weight</c>).</summary>
public sealed record HostBatch(int BatchSize, int SeqLen, int K, long[] InputIds, long[] Labels, long[] RationaleLabels, long[] AttentionMask,
    long[]? TopKIds, float[]? TopKLogprobs, long[]? PromptLabels = null)
{
    /// <summary>Non-padding tokens (what tokens/s counts).</summary>
    public long Tokens => AttentionMask.Sum();

    /// <summary>The batch as tensors on <paramref name="device"/>; they belong to the caller's dispose scope.</summary>
    public DeviceBatch ToDevice(Device device)
    {
        long[] shape = [BatchSize, SeqLen];
        return new DeviceBatch(
            tensor(InputIds, shape, device: device),
            tensor(Labels, shape, device: device),
            tensor(RationaleLabels, shape, device: device),
            tensor(AttentionMask, shape, device: device),
            TopKIds is null ? null : tensor(TopKIds, [BatchSize, SeqLen, K], device: device),
            TopKLogprobs is null ? null : tensor(TopKLogprobs, [BatchSize, SeqLen, K], device: device),
            PromptLabels is null ? null : tensor(PromptLabels, shape, device: device));
    }
}

/// <summary>
/// Tensors of one batch: input ids, labels (already shifted; -100 = no loss), rationale-task labels for distilling
/// step-by-step (all -100 otherwise), attention mask (1 = token), and the stored teacher top-k ids [B, T, K] (-1 = missing)
/// with their logprobs, and the prompt-token labels when <c>loss.prompt_weight</c> asks for them.
/// <para>The model is run without the attention mask: padding is always on the right, so under the causal mask no real
/// token can attend to it, and padded positions carry no label.</para>
/// </summary>
public sealed record DeviceBatch(Tensor InputIds, Tensor Labels, Tensor RationaleLabels, Tensor AttentionMask, Tensor? TopKIds, Tensor? TopKLogprobs,
    Tensor? PromptLabels = null);

/// <summary>Where a data stream stands: the epoch and the next batch within it. Saved with a checkpoint, it restores the stream exactly.</summary>
public sealed record DataPosition(int Epoch, int Batch);

/// <summary>
/// Deterministic batches over encoded examples: epoch e's order is a Fisher-Yates shuffle seeded by (seed, e), so the batches of
/// any epoch can be rebuilt from the seed alone, and a <see cref="DataPosition"/> is enough to continue exactly.
/// </summary>
public sealed class BatchPlan
{
    private readonly IReadOnlyList<TrainExample> _examples;
    private readonly int _seed;
    private readonly int _padId;
    private readonly bool _promptLabels;
    private int _cachedEpoch = -1;
    private IReadOnlyList<HostBatch> _cached = [];

    /// <param name="examples">Encoded examples (any order; the plan shuffles).</param>
    /// <param name="batchSize">B.</param>
    /// <param name="seqLen">T.</param>
    /// <param name="mode">Packing or length bucketing.</param>
    /// <param name="seed">Shuffle seed.</param>
    /// <param name="topK">K of the top-k tensors; 0 for none.</param>
    /// <param name="padId">Input id used for padding.</param>
    /// <param name="shuffle">False keeps the given order (validation).</param>
    public BatchPlan(IReadOnlyList<TrainExample> examples, int batchSize, int seqLen, BatchingMode mode, int seed, int topK, int padId, bool shuffle = true)
    {
        if (examples.Count == 0) throw new ArgumentException("no examples to batch", nameof(examples));
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize));
        if (seqLen < 1) throw new ArgumentOutOfRangeException(nameof(seqLen));
        _examples = examples;
        BatchSize = batchSize;
        SeqLen = seqLen;
        Mode = mode;
        _seed = seed;
        K = topK;
        _padId = padId;
        Shuffle = shuffle;
        _promptLabels = examples.Any(e => e.PromptLabels is not null);
    }

    public int BatchSize { get; }
    public int SeqLen { get; }
    public BatchingMode Mode { get; }
    public int K { get; }
    public bool Shuffle { get; }

    /// <summary>The batches of epoch <paramref name="epoch"/> (the same list every time it is asked for).</summary>
    public IReadOnlyList<HostBatch> Epoch(int epoch)
    {
        if (epoch == _cachedEpoch) return _cached;
        var rng = new Random(unchecked(_seed * 1_000_003 + epoch * 7919 + 17));
        var order = Enumerable.Range(0, _examples.Count).ToArray();
        if (Shuffle) rng.Shuffle(order);
        _cached = Mode == BatchingMode.Pack ? Packed(order) : Bucketed(order, rng);
        _cachedEpoch = epoch;
        return _cached;
    }

    private List<HostBatch> Packed(int[] order)
    {
        var rows = new List<Row>();
        var current = NewRow();
        foreach (var i in order)
        {
            var ex = _examples[i];
            var offset = 0;
            while (offset < ex.Length)
            {
                var take = Math.Min(SeqLen - current.Used, ex.Length - offset);
                current.Append(ex, offset, take);
                offset += take;
                if (current.Used == SeqLen)
                {
                    rows.Add(current);
                    current = NewRow();
                }
            }
        }
        if (current.Used > 0) rows.Add(current);
        return ToBatches(rows);
    }

    private List<HostBatch> Bucketed(int[] order, Random rng)
    {
        // Sort windows of 16 batches by length, cut them into batches, then shuffle the batch order.
        var window = BatchSize * 16;
        var groups = new List<List<int>>();
        for (var start = 0; start < order.Length; start += window)
        {
            var chunk = order.Skip(start).Take(window).OrderBy(i => _examples[i].Length).ThenBy(i => i).ToList();
            for (var b = 0; b < chunk.Count; b += BatchSize) groups.Add(chunk.Skip(b).Take(BatchSize).ToList());
        }
        var batchOrder = Enumerable.Range(0, groups.Count).ToArray();
        if (Shuffle) rng.Shuffle(batchOrder);
        var rows = new List<Row>();
        foreach (var g in batchOrder)
        {
            foreach (var i in groups[g])
            {
                var ex = _examples[i];
                var row = NewRow(Math.Min(SeqLen, ex.Length));
                row.Append(ex, 0, Math.Min(SeqLen, ex.Length));
                rows.Add(row);
            }
            // A short last group is filled with empty rows so every batch is [B, T].
            for (var pad = groups[g].Count; pad < BatchSize; pad++) rows.Add(NewRow(0));
        }
        return ToBatches(rows);
    }

    /// <summary>An empty row with room for <paramref name="capacity"/> tokens (T by default): prompt labels only when the examples
    /// carry them. A bucketed row holds one example, so it is sized to it; the batch arrays supply the padding.</summary>
    private Row NewRow(int? capacity = null) => new(capacity ?? SeqLen, K, _promptLabels);

    private List<HostBatch> ToBatches(List<Row> rows)
    {
        var batches = new List<HostBatch>();
        for (var start = 0; start < rows.Count; start += BatchSize)
        {
            var width = Width(rows, start);
            var n = BatchSize * width;
            var ids = new long[n];
            var labels = new long[n];
            var rationale = new long[n];
            var mask = new long[n];
            Array.Fill(ids, _padId);
            Array.Fill(labels, TokenizedChatLabels.Ignore);
            Array.Fill(rationale, TokenizedChatLabels.Ignore);
            var prompt = _promptLabels ? new long[n] : null;
            if (prompt is not null) Array.Fill(prompt, TokenizedChatLabels.Ignore);
            long[]? topIds = K > 0 ? new long[n * K] : null;
            float[]? topLps = K > 0 ? new float[n * K] : null;
            if (topIds is not null) Array.Fill(topIds, -1L);
            for (var r = 0; r < BatchSize && start + r < rows.Count; r++)
                rows[start + r].CopyTo(r * width, ids, labels, rationale, mask, topIds, topLps, prompt);
            batches.Add(new HostBatch(BatchSize, width, K, ids, labels, rationale, mask, topIds, topLps, prompt));
        }
        return batches;
    }

    /// <summary>
    /// T of the batch starting at row <paramref name="start"/>: its longest row rounded up to a multiple of
    /// <see cref="WidthMultiple"/>, at most <see cref="SeqLen"/>. Why: padding is on the right and the causal mask keeps every
    /// real token from seeing it, so the columns past the longest row change no loss and no gradient, yet cost the same
    /// FLOPs as real tokens; with bucketing they were about 40 % of the quickstart's student compute.
    /// </summary>
    private int Width(List<Row> rows, int start)
    {
        var longest = 1;
        for (var r = start; r < Math.Min(rows.Count, start + BatchSize); r++) longest = Math.Max(longest, rows[r].Used);
        var rounded = (longest + WidthMultiple - 1) / WidthMultiple * WidthMultiple;
        return Math.Min(SeqLen, rounded);
    }

    /// <summary>Batch widths are multiples of this, so matmul shapes repeat from batch to batch.</summary>
    public const int WidthMultiple = 8;

    private sealed class Row(int capacity, int k, bool promptLabels)
    {
        private readonly long[] _ids = new long[capacity];
        private readonly long[] _labels = Enumerable.Repeat((long)TokenizedChatLabels.Ignore, capacity).ToArray();
        private readonly long[] _rationale = Enumerable.Repeat((long)TokenizedChatLabels.Ignore, capacity).ToArray();
        private readonly long[]? _prompt = promptLabels ? Enumerable.Repeat((long)TokenizedChatLabels.Ignore, capacity).ToArray() : null;
        private readonly long[]? _topIds = k > 0 ? Enumerable.Repeat(-1L, capacity * k).ToArray() : null;
        private readonly float[]? _topLps = k > 0 ? new float[capacity * k] : null;

        public int Used { get; private set; }

        public void Append(TrainExample ex, int offset, int count)
        {
            var target = ex.Task == ExampleTask.Rationale ? _rationale : _labels;
            for (var t = 0; t < count; t++)
            {
                _ids[Used + t] = ex.InputIds[offset + t];
                target[Used + t] = ex.Labels[offset + t];
                if (_prompt is not null && ex.PromptLabels is not null) _prompt[Used + t] = ex.PromptLabels[offset + t];
                if (_topIds is null || ex.TopKIds is null) continue;
                var kk = Math.Min(k, ex.K);
                for (var j = 0; j < kk; j++)
                {
                    _topIds[(Used + t) * k + j] = ex.TopKIds[(offset + t) * ex.K + j];
                    _topLps![(Used + t) * k + j] = ex.TopKLogprobs![(offset + t) * ex.K + j];
                }
            }
            Used += count;
        }

        /// <summary>The row's tokens into a batch row starting at <paramref name="at"/>, whose other positions already hold padding.</summary>
        public void CopyTo(int at, long[] ids, long[] labels, long[] rationale, long[] mask, long[]? topIds, float[]? topLps, long[]? prompt)
        {
            if (prompt is not null && _prompt is not null) Array.Copy(_prompt, 0, prompt, at, Used);
            Array.Copy(_ids, 0, ids, at, Used);
            Array.Copy(_labels, 0, labels, at, Used);
            Array.Copy(_rationale, 0, rationale, at, Used);
            Array.Fill(mask, 1L, at, Used);
            if (topIds is not null && _topIds is not null)
            {
                Array.Copy(_topIds, 0, topIds, at * k, Used * k);
                Array.Copy(_topLps!, 0, topLps!, at * k, Used * k);
            }
        }
    }
}

/// <summary>An endless stream of training batches that knows its <see cref="DataPosition"/> and can be put back to one.</summary>
public sealed class BatchStream(BatchPlan plan, DataPosition? start = null)
{
    public DataPosition Position { get; private set; } = start ?? new DataPosition(0, 0);

    public int BatchesPerEpoch => plan.Epoch(Position.Epoch).Count;

    /// <summary>The batch at <see cref="Position"/>; the position moves to the next one (the next epoch after the last).</summary>
    public HostBatch Next()
    {
        var batches = plan.Epoch(Position.Epoch);
        if (Position.Batch >= batches.Count)
        {
            Position = new DataPosition(Position.Epoch + 1, 0);
            batches = plan.Epoch(Position.Epoch);
        }
        var batch = batches[Position.Batch];
        Position = Position.Batch + 1 >= batches.Count ? new DataPosition(Position.Epoch + 1, 0) : Position with { Batch = Position.Batch + 1 };
        return batch;
    }
}
