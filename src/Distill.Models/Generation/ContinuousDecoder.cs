using Distill.Core.Errors;
using Distill.Models.Llama;
using Distill.Models.Performance;
using TorchSharp;
using static TorchSharp.torch;
using static Distill.Models.Native.Scalars;

namespace Distill.Models.Generation;

/// <summary>
/// Continuous batching (as vLLM and TGI schedule decoding, without paged memory): one batch decoded step by step with a KV
/// cache, which a request leaves as soon as all its rows have finished and which waiting requests join whenever rows are free.
/// In a static batch every request waits for the longest one and the rows of finished requests decode padding; the quickstart's
/// tool-trace replies run from about 10 to 80 tokens, so a batch of 8 waits for a long one nearly every time.
/// <para>Rows are left-padded to the batch's width and carry their own positions, so a row generates what it would alone.
/// When rows leave or join, the cache is rebuilt: the rows that stay, cut to the longest of them, above the newcomers' prefilled
/// keys and values, all right-aligned, in buffers sized for the longest remaining budget (so the steps after it write in place).
/// A small model's cache is a few megabytes, so a rebuild costs about as much as one decode step.</para>
/// </summary>
public static class ContinuousDecoder
{
    // Decode steps of up to this many rows run on one intra-op thread (DecodeThreads); measured faster at batch 1, 8 and 32.
    private const int OneThreadMaxRows = 32;

    /// <summary>Decodes until the batch is empty and <paramref name="admit"/> has nothing more.</summary>
    /// <param name="options">Sampling settings shared by every row (temperature, top-k, top-p, stop ids, top logprobs, pad id);
    /// each group's budget and seed are its own (<see cref="GenerationOptions.MaxNewTokens"/> and <see cref="GenerationOptions.Seed"/>
    /// are not read).</param>
    /// <param name="maxRows">Rows the batch holds at most; <paramref name="admit"/> is asked for groups whenever fewer are in it.</param>
    /// <param name="admit">Given the free rows, the groups that join now (none is fine). A group wider than the free rows may join
    /// an empty batch (free = <paramref name="maxRows"/>).</param>
    /// <param name="prefixes">Keys and values of earlier prompts to start new prompts from, and where theirs are kept; null = none.</param>
    public static void Run(LlamaForCausalLM model, GenerationOptions options, int maxRows, Func<int, IReadOnlyList<DecodeGroup>> admit,
        CancellationToken cancellationToken = default, PrefixCache? prefixes = null)
    {
        options.Validate();
        if (maxRows < 1) throw new ArgumentOutOfRangeException(nameof(maxRows));
        var vocab = model.Config.VocabSize;
        if (options.PadTokenId < 0 || options.PadTokenId >= vocab)
            throw new DistillException($"pad token id {options.PadTokenId} is outside the model's vocabulary (0..{vocab - 1})");

        // Inference mode, not just no_grad: libtorch then skips view tracking and version counters, about 7 % of a decode step
        // that is bound by the number of calls (`distill bench model`). No tensor created here leaves this method.
        using var inference = inference_mode();
        using var batch = new Batch(model, options, prefixes);
        batch.Join(admit(maxRows));
        while (batch.Rows.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            batch.ChooseNextTokens();
            var feed = batch.LeaveFinishedGroups();
            if (batch.Rows.Count > 0) batch.Step(feed);
            if (batch.Rows.Count < maxRows) batch.Join(admit(maxRows - batch.Rows.Count));
        }
    }

    private sealed class Row(DecodeGroup group, int index, int promptLength)
    {
        public DecodeGroup Group { get; } = group;
        public int Index { get; } = index;
        public List<GeneratedToken> Tokens { get; } = [];
        public FinishReason? Finish { get; set; }
        public GeneratedToken? StopToken { get; set; }
        /// <summary>Real tokens of the row in the cache (prompt and fed tokens); the rest of the batch's width is left padding.</summary>
        public int Length { get; set; } = promptLength;
        /// <summary>The token the next step feeds: the one just chosen, or padding once the row has finished.</summary>
        public long Next { get; set; }
        public int Remaining => Group.MaxNewTokens - Tokens.Count;
        public ITokenConstraint? Constraint => Group.Constraints?[Index];
    }

    private sealed class Batch(LlamaForCausalLM model, GenerationOptions options, PrefixCache? prefixes) : IDisposable
    {
        private readonly HashSet<long> _stop = options.StopTokenIds.ToHashSet();
        private readonly int _topK = Math.Min(options.TopLogprobs, model.Config.VocabSize);
        private readonly Dictionary<DecodeGroup, Generator?> _generators = [];
        private KvCache? _cache;
        private Tensor? _logits; // float32 [rows, V]: the next token's logits per row

        /// <summary>The batch's rows in order; a group's rows are consecutive.</summary>
        public List<Row> Rows { get; } = [];

        private Device Device => model.Device;
        private int Width => (int)(_cache?.Length ?? 0);

        /// <summary>Samples every unfinished row's next token from the current logits, streams it and marks rows that finish.</summary>
        public void ChooseNextTokens()
        {
            using var scope = NewDisposeScope();
            var logits = _logits!;
            var logprobs = logits.log_softmax(-1);
            var next = TokenSampler.Choose(Constrained(logits), options, GeneratorRanges());
            var chosen = logprobs.gather(1, next.unsqueeze(1)).squeeze(1).cpu().data<float>().ToArray();
            var nextIds = next.cpu().data<long>().ToArray();
            float[]? topVals = null;
            long[]? topIdx = null;
            if (_topK > 0)
            {
                var (values, indices) = logprobs.topk(_topK, dim: -1, largest: true, sorted: true);
                topVals = values.cpu().data<float>().ToArray();
                topIdx = indices.cpu().data<long>().ToArray();
            }

            for (var r = 0; r < Rows.Count; r++)
            {
                var row = Rows[r];
                row.Next = options.PadTokenId;
                if (row.Finish is not null) continue;
                var alternatives = new List<TokenAlternative>(_topK);
                for (var k = 0; k < _topK; k++)
                    alternatives.Add(new TokenAlternative(topIdx![r * _topK + k], topVals![r * _topK + k]));
                var token = new GeneratedToken(nextIds[r], chosen[r], alternatives);
                row.Constraint?.Advance(token.TokenId);
                if (_stop.Contains(token.TokenId))
                {
                    row.Finish = FinishReason.Stop;
                    row.StopToken = token;
                    continue;
                }
                row.Tokens.Add(token);
                row.Group.OnToken?.Invoke(row.Index, token);
                if (row.Remaining <= 0) row.Finish = FinishReason.Length;
                else row.Next = token.TokenId;
            }
        }

        /// <summary>
        /// Hands every group whose rows have all finished its results and takes its rows out of the batch (rebuilding the cache
        /// without them). Returns the tokens the remaining rows feed next.
        /// </summary>
        public long[] LeaveFinishedGroups()
        {
            var done = Rows.GroupBy(r => r.Group).Where(g => g.All(r => r.Finish is not null)).Select(g => g.Key).ToHashSet();
            foreach (var group in done)
            {
                group.Results = Rows.Where(r => r.Group == group)
                    .Select(r => new GenerationResult(r.Tokens, r.Finish!.Value, r.StopToken)).ToList();
                if (_generators.Remove(group, out var generator)) generator?.Dispose();
                group.OnDone?.Invoke(group.Results);
            }
            if (done.Count > 0)
            {
                var stay = Enumerable.Range(0, Rows.Count).Where(r => !done.Contains(Rows[r].Group)).ToArray();
                Keep(stay);
            }
            return Rows.Select(r => r.Next).ToArray();
        }

        /// <summary>One decode step: feeds each row its token and keeps the logits of the token after it.</summary>
        public void Step(long[] feed)
        {
            using var scope = NewDisposeScope();
            var b = Rows.Count;
            var (mask, positions) = Padding();
            CausalLMOutput output;
            using (b <= OneThreadMaxRows ? DecodeThreads.OneThreadStep() : default)
                output = model.forward(new CausalLMInput(tensor(feed, [b, 1], device: Device), mask, positions, _cache, LastTokenLogitsOnly: true));
            foreach (var row in Rows) row.Length++;
            ReplaceLogits(output.Logits.squeeze(1).to_type(ScalarType.Float32));
        }

        /// <summary>Prefills the groups' prompts and adds their rows below the batch's (all right-aligned to the longer width).</summary>
        public void Join(IReadOnlyList<DecodeGroup> groups)
        {
            if (groups.Count == 0) return;
            var vocab = model.Config.VocabSize;
            var prompts = groups.SelectMany(g => g.Prompts).ToList();
            if (prompts.Any(p => p.Count == 0)) throw new DistillException("a prompt has no tokens", "every prompt needs at least one token (e.g. BOS)");
            if (prompts.SelectMany(p => p).Any(t => t < 0 || t >= vocab))
                throw new DistillException($"a prompt token id is outside the model's vocabulary (0..{vocab - 1})", "the tokenizer does not match the model");

            using var scope = NewDisposeScope();
            var (prefilled, logits) = Prefill(prompts);
            using var prefilledCache = prefilled;
            var p = (int)prefilled.Length;

            var joining = groups.SelectMany(g => g.Prompts.Select((prompt, i) => new Row(g, i, prompt.Count))).ToList();
            var width = Math.Max(Width, p); // the cache is as wide as its longest row
            var layers = new (Tensor Keys, Tensor Values)[model.Config.NumHiddenLayers];
            for (var layer = 0; layer < layers.Length; layer++)
            {
                var (newKeys, newValues) = prefilled.Filled(layer);
                if (_cache is null)
                {
                    layers[layer] = (newKeys, newValues);
                    continue;
                }
                var (keys, values) = _cache.Filled(layer);
                layers[layer] = (cat([RightAligned(keys, width), RightAligned(newKeys, width)], 0),
                    cat([RightAligned(values, width), RightAligned(newValues, width)], 0));
            }
            Rows.AddRange(joining);
            ReplaceCache(layers);
            ReplaceLogits(_logits is null ? logits : cat([_logits, logits], 0));
            foreach (var group in groups)
                _generators[group] = group.Seed is { } seed ? new Generator(seed, Device) : null;
        }

        /// <summary>
        /// Runs the prompts, left-padded to one width, through the model, each starting from the longest stored prefix of it:
        /// the block fed is as wide as the longest part not found, so a row whose own rest is shorter recomputes a few of its
        /// stored tokens. Stores each prompt's keys and values for the prompts after it.
        /// </summary>
        /// <returns>A cache of the prompts ([n, kvH, width, D], each row right-aligned) and the last position's logits, float32 [n, V].</returns>
        private (KvCache Cache, Tensor Logits) Prefill(List<IReadOnlyList<long>> prompts)
        {
            var n = prompts.Count;
            var matches = prompts.Select(prompt => prefixes?.Match(prompt) ?? (null, 0)).ToArray();
            var block = Enumerable.Range(0, n).Max(r => prompts[r].Count - matches[r].Length);
            var past = Math.Max(0, prompts.Max(x => x.Count) - block);
            var width = past + block;
            var layerCount = model.Config.NumHiddenLayers;
            KvCache cache;
            if (past == 0) cache = new KvCache(layerCount, capacity: width);
            else
            {
                // Row r's past: the first (length - block) tokens of its stored prefix, right-aligned to the past's width.
                var layers = new (Tensor Keys, Tensor Values)[layerCount];
                for (var layer = 0; layer < layerCount; layer++)
                {
                    var keys = new Tensor[n];
                    var values = new Tensor[n];
                    for (var r = 0; r < n; r++)
                    {
                        var own = Math.Max(0, prompts[r].Count - block);
                        var (entry, _) = matches[r];
                        var (k, v) = own > 0 ? entry!.Layers[layer] : Empty(layer);
                        keys[r] = RightAligned(k.narrow(2, 0, own), past);
                        values[r] = RightAligned(v.narrow(2, 0, own), past);
                    }
                    layers[layer] = (n == 1 ? keys[0] : cat(keys, 0), n == 1 ? values[0] : cat(values, 0));
                }
                cache = KvCache.From(layers, capacity: width);
            }

            var ids = new long[n * block];
            var positions = new long[n * block];
            var mask = new long[n * width];
            Array.Fill(ids, options.PadTokenId);
            for (var r = 0; r < n; r++)
            {
                var prompt = prompts[r];
                Array.Fill(mask, 1L, r * width + width - prompt.Count, prompt.Count);
                for (var j = 0; j < block; j++)
                {
                    var position = prompt.Count - block + j;
                    if (position < 0) continue;
                    ids[r * block + j] = prompt[position];
                    positions[r * block + j] = position;
                }
                prefixes?.Record(prompt.Count, prompt.Count - Math.Min(block, prompt.Count));
            }
            var padded = prompts.Any(x => x.Count != width);
            var output = model.forward(new CausalLMInput(tensor(ids, [n, block], device: Device),
                padded ? tensor(mask, [n, width], device: Device) : null,
                padded ? tensor(positions, [n, block], device: Device) : null,
                cache, LastTokenLogitsOnly: true));

            if (prefixes is not null)
            {
                for (var r = 0; r < n; r++)
                {
                    var prompt = prompts[r];
                    if (prefixes.Contains(prompt)) continue;
                    var own = new (Tensor Keys, Tensor Values)[layerCount];
                    for (var layer = 0; layer < layerCount; layer++)
                    {
                        var (k, v) = cache.Filled(layer);
                        own[layer] = (k.narrow(0, r, 1).narrow(2, width - prompt.Count, prompt.Count).clone(),
                            v.narrow(0, r, 1).narrow(2, width - prompt.Count, prompt.Count).clone());
                    }
                    prefixes.Add(prompt, own);
                }
            }
            return (cache, output.Logits.squeeze(1).to_type(ScalarType.Float32));
        }

        /// <summary>Keys and values of no tokens, shaped like one row of a layer's cache.</summary>
        private (Tensor Keys, Tensor Values) Empty(int layer)
        {
            var config = model.Config;
            var shape = new long[] { 1, config.KeyValueHeads, 0, config.HeadDim };
            var dtype = model.parameters().First().dtype;
            return (zeros(shape, dtype: dtype, device: Device), zeros(shape, dtype: dtype, device: Device));
        }

        /// <summary>Keeps the given rows (indices into <see cref="Rows"/>, in order), the cache cut to the longest of them.</summary>
        private void Keep(int[] stay)
        {
            var kept = stay.Select(r => Rows[r]).ToList();
            Rows.Clear();
            Rows.AddRange(kept);
            if (kept.Count == 0)
            {
                _cache?.Dispose();
                _cache = null;
                _logits?.Dispose();
                _logits = null;
                return;
            }
            using var scope = NewDisposeScope();
            var index = tensor(stay.Select(r => (long)r).ToArray(), device: Device);
            var width = kept.Max(r => r.Length);
            var layers = new (Tensor Keys, Tensor Values)[_cache!.Layers];
            for (var layer = 0; layer < layers.Length; layer++)
            {
                var (keys, values) = _cache.Filled(layer);
                layers[layer] = (RightAligned(keys.index_select(0, index), width), RightAligned(values.index_select(0, index), width));
            }
            ReplaceCache(layers);
            ReplaceLogits(_logits!.index_select(0, index));
        }

        /// <summary>[B, kvH, T, D] as [B, kvH, width, D]: the last width columns, or left-padded with zeros (masked) to width.</summary>
        private static Tensor RightAligned(Tensor x, int width)
        {
            var t = x.size(2);
            if (t == width) return x;
            if (t > width) return x.narrow(2, t - width, width);
            return cat([zeros([x.size(0), x.size(1), width - t, x.size(3)], dtype: x.dtype, device: x.device), x], 2);
        }

        /// <summary>The new cache holds the given layers, with room for the longest remaining budget of any row.</summary>
        private void ReplaceCache((Tensor Keys, Tensor Values)[] layers)
        {
            var capacity = layers[0].Keys.size(2) + Rows.Max(r => Math.Max(r.Remaining, 0)) + 1;
            var cache = KvCache.From(layers, capacity);
            _cache?.Dispose();
            _cache = cache;
        }

        private void ReplaceLogits(Tensor logits)
        {
            var kept = logits.DetachFromDisposeScope();
            if (!ReferenceEquals(kept, _logits)) _logits?.Dispose();
            _logits = kept;
        }

        /// <summary>
        /// For a decode step: the attention mask over the cache and the token fed ([B, width + 1], 1 = real token) and that token's
        /// position per row ([B, 1]), or nulls when no row is padded (then every step attends to every cached key).
        /// </summary>
        private (Tensor? Mask, Tensor? Positions) Padding()
        {
            var width = Width + 1;
            if (Rows.All(r => r.Length + 1 == width)) return (null, null);
            var b = Rows.Count;
            var mask = new long[b * width];
            var positions = new long[b];
            for (var r = 0; r < b; r++)
            {
                var real = Rows[r].Length + 1;
                Array.Fill(mask, 1L, r * width + width - real, real);
                positions[r] = Rows[r].Length;
            }
            return (tensor(mask, [b, width], device: Device), tensor(positions, [b, 1], device: Device));
        }

        /// <summary>Consecutive row ranges of the batch's groups, each with its group's generator.</summary>
        private List<(int FirstRow, int Rows, Generator? Generator)> GeneratorRanges()
        {
            var ranges = new List<(int, int, Generator?)>();
            for (var r = 0; r < Rows.Count;)
            {
                var group = Rows[r].Group;
                var first = r;
                while (r < Rows.Count && Rows[r].Group == group) r++;
                ranges.Add((first, r - first, _generators[group]));
            }
            return ranges;
        }

        /// <summary>The logits with every token a live row's constraint disallows set to -inf (float32 [B, V]).</summary>
        private Tensor Constrained(Tensor logits)
        {
            if (!Rows.Any(r => r.Constraint is not null && r.Finish is null)) return logits;
            int b = (int)logits.shape[0], v = (int)logits.shape[1];
            var allowed = new bool[b * v];
            for (var r = 0; r < b; r++)
            {
                var row = allowed.AsSpan(r * v, v);
                if (Rows[r].Constraint is { } constraint && Rows[r].Finish is null) constraint.FillAllowed(row);
                else row.Fill(true);
            }
            using var mask = tensor(allowed, [b, v], device: logits.device);
            return logits.masked_fill(mask.logical_not(), NegativeInfinity);
        }

        public void Dispose()
        {
            _cache?.Dispose();
            _logits?.Dispose();
            foreach (var generator in _generators.Values) generator?.Dispose();
        }
    }
}
