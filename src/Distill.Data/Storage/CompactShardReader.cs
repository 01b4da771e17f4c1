using System.Buffers;
using System.Runtime.CompilerServices;
using Distill.Core.Samples;
using Parquet;
using Parquet.Schema;
using Parquet.Serialization;

namespace Distill.Data.Storage;

/// <summary>
/// Reads compact shards (<see cref="CompactSchema"/>) one row group at a time: the message and lineage columns through
/// Parquet.Net's serializer (a few objects per row), the eight logprob columns as raw arrays with their levels, which are then
/// cut into each message's tokens by the offsets. The next row group is read on a pool thread while this one's samples are built.
/// </summary>
internal static class CompactShardReader
{
    /// <summary>
    /// Rows assembled into samples per batch handed to the caller: one. A tool-trace row is ~4,500 logprob objects (~220 KB),
    /// and the workstation collector's young-generation budget is a few megabytes, so a collection comes every few dozen rows;
    /// whatever the reader has built and not yet handed out survives it and is copied. At 16 rows per batch the collections
    /// paused a read of 10,000 of the bench's rows for 2.2-2.5 s, a fifth to a third of its time; at one row, 0.6 s.
    /// </summary>
    internal const int SliceRows = 1;

    /// <summary>
    /// Streams the rows of a compact shard as samples with their reject reason (null in a sample shard), row group by row group
    /// in batches of up to <see cref="SliceRows"/> rows. Without <paramref name="withLogprobs"/> the eight logprob columns (about
    /// nine tenths of a tool-trace row) are not read and every message comes back with no logprobs.
    /// </summary>
    public static async IAsyncEnumerable<IReadOnlyList<(Sample Sample, string? RejectReason)>> ReadRowGroupsAsync(
        ParquetReader reader, Stream serializerStream, bool rejects, ParquetOptions options,
        [EnumeratorCancellation] CancellationToken ct, bool withLogprobs = true)
    {
        var vocabulary = TokenVocabulary.FromJson(reader.CustomMetadata.GetValueOrDefault(CompactSchema.VocabularyKey));
        int version = CompactSchema.LayoutVersionOf(reader) ?? CompactSchema.FirstVersion;
        var precision = reader.CustomMetadata.GetValueOrDefault(CompactSchema.PrecisionKey) == "float32" ? LogprobPrecision.Float32 : LogprobPrecision.Float16;
        // Two sets of columns, row group g in set g % 2: while the samples of one row group are built here, the next row group is
        // read and decompressed into the other set on a pool thread (the second core's share of the read). Only that thread
        // touches the streams.
        LogprobColumns[] sets = [new(reader.Schema, version, precision), new(reader.Schema, version, precision)];
        var next = reader.RowGroupCount > 0 ? LoadOnPool(0) : null;
        try
        {
            for (int g = 0; g < reader.RowGroupCount; g++)
            {
                var rows = await next!.ConfigureAwait(false);
                var loaded = sets[g % 2];
                next = g + 1 < reader.RowGroupCount ? LoadOnPool(g + 1) : null;
                // Handed out as they are built: the ~4,500 logprob objects of a row then die young unless the caller keeps them,
                // where a whole row group's (~1.1 million) would outlive several gen0 collections and be copied into gen1 and gen2.
                for (int from = 0; from < rows.Count; from += SliceRows)
                {
                    var slice = new (Sample, string?)[Math.Min(SliceRows, rows.Count - from)];
                    for (int i = 0; i < slice.Length; i++)
                    {
                        var row = rows[from + i];
                        var sample = SampleRowMapper.ToSample(row);
                        if (withLogprobs) sample = sample with { Messages = loaded.AttachLogprobs(sample.Messages, from + i, vocabulary) };
                        slice[i] = (sample, row is RejectRow reject ? reject.RejectReason : null);
                    }
                    yield return slice;
                }
            }
        }
        finally
        {
            // Also when the caller stops early (disposing the enumerator runs this): the read in flight must end before its
            // buffers go back to the pool, and the streams may only be closed after it (WhenAny waits without rethrowing).
            if (next is not null) await Task.WhenAny(next).ConfigureAwait(false);
            foreach (var set in sets) set.Return();
        }

        // g is a parameter, not the loop variable the pool thread would read later.
        Task<IList<SampleRow>> LoadOnPool(int g) => Task.Run(() => LoadAsync(g, sets[g % 2]), ct);

        async Task<IList<SampleRow>> LoadAsync(int g, LogprobColumns into)
        {
            serializerStream.Position = 0;
            IList<SampleRow> rows = rejects
                ? (await ParquetSerializer.DeserializeAsync<RejectRow>(serializerStream, options, g, ct).ConfigureAwait(false)).Data.Cast<SampleRow>().ToList()
                : (await ParquetSerializer.DeserializeAsync<SampleRow>(serializerStream, options, g, ct).ConfigureAwait(false)).Data;
            if (withLogprobs)
            {
                using var rowGroup = reader.OpenRowGroupReader(g);
                await into.ReadAsync(rowGroup, rows.Count, ct).ConfigureAwait(false);
            }
            return rows;
        }
    }

    /// <summary>
    /// The eight logprob columns of one row group, flattened, with each row's start in them. In a version 4 file the
    /// alternatives' column holds gaps (<see cref="LogprobGaps"/>), turned back into logprobs token by token.
    /// </summary>
    private sealed class LogprobColumns(ParquetSchema schema, int version, LogprobPrecision precision)
    {
        private float[] _decoded = new float[32];
        private readonly ListColumn<int> _messageOffsets = new(schema, CompactSchema.MessageOffsets);
        private readonly ListColumn<int> _tokenIds = new(schema, CompactSchema.TokenIds);
        private readonly ListColumn<ReadOnlyMemory<char>> _tokens = new(schema, CompactSchema.Tokens);
        private readonly ListColumn<float> _logprobs = new(schema, CompactSchema.Logprobs);
        private readonly ListColumn<int> _topOffsets = new(schema, CompactSchema.TopOffsets);
        private readonly ListColumn<int> _topTokenIds = new(schema, CompactSchema.TopTokenIds);
        private readonly ListColumn<ReadOnlyMemory<char>> _topTokens = new(schema, CompactSchema.TopTokens);
        private readonly ListColumn<float> _topLogprobs = new(schema, CompactSchema.TopValuesColumn(version));

        private IListColumn[] All => [_messageOffsets, _tokenIds, _tokens, _logprobs, _topOffsets, _topTokenIds, _topTokens, _topLogprobs];

        public async Task ReadAsync(ParquetRowGroupReader rowGroup, int rows, CancellationToken ct)
        {
            foreach (var column in All)
                await column.ReadAsync(rowGroup, rows, ct).ConfigureAwait(false);
            if (_tokenIds.Count != _logprobs.Count || _tokens.Count != _logprobs.Count || _topTokenIds.Count != _topLogprobs.Count || _topTokens.Count != _topLogprobs.Count)
                throw new InvalidDataException("the lp_* columns of a row group hold different numbers of tokens");
        }

        /// <summary>Gives the columns' arrays back to the shared pool once the shard is read.</summary>
        public void Return()
        {
            foreach (var column in All) column.Return();
        }

        public IReadOnlyList<ChatMessage> AttachLogprobs(IReadOnlyList<ChatMessage> messages, int row, TokenVocabulary vocabulary)
        {
            int offsetsStart = _messageOffsets.RowStart(row);
            if (_messageOffsets.RowLength(row) != messages.Count + 1)
                throw new InvalidDataException($"lp_message_offsets has {_messageOffsets.RowLength(row)} entries for {messages.Count} messages (want messages + 1)");
            int tokenBase = _logprobs.RowStart(row), tokenCount = _logprobs.RowLength(row);
            int topBase = _topLogprobs.RowStart(row), topCount = _topLogprobs.RowLength(row), topOffsetsStart = _topOffsets.RowStart(row);
            if (_topOffsets.RowLength(row) != tokenCount + 1)
                throw new InvalidDataException($"lp_top_offsets has {_topOffsets.RowLength(row)} entries for {tokenCount} tokens (want tokens + 1)");
            if (tokenCount == 0) return messages;

            var result = messages as ChatMessage[] ?? messages.ToArray();
            for (int i = 0; i < result.Length; i++)
            {
                int from = _messageOffsets.Values[offsetsStart + i], to = _messageOffsets.Values[offsetsStart + i + 1];
                if (from < 0 || to < from || to > tokenCount)
                    throw new InvalidDataException($"lp_message_offsets [{from}, {to}) of message {i} is outside the row's {tokenCount} tokens");
                if (to == from) continue;
                var logprobs = new TokenLogprob[to - from];
                for (int t = from; t < to; t++)
                {
                    int topFrom = _topOffsets.Values[topOffsetsStart + t], topTo = _topOffsets.Values[topOffsetsStart + t + 1];
                    if (topFrom < 0 || topTo < topFrom || topTo > topCount)
                        throw new InvalidDataException($"lp_top_offsets [{topFrom}, {topTo}) of token {t} is outside the row's {topCount} alternatives");
                    var top = new TopLogprob[topTo - topFrom];
                    ReadOnlySpan<float> values = _topLogprobs.Values.AsSpan(topBase + topFrom, top.Length);
                    if (version >= 4)
                    {
                        if (_decoded.Length < top.Length) _decoded = new float[top.Length * 2];
                        LogprobGaps.Decode(values, _decoded.AsSpan(0, top.Length), precision);
                        values = _decoded.AsSpan(0, top.Length);
                    }
                    for (int k = topFrom; k < topTo; k++)
                    {
                        int at = topBase + k;
                        int? id = _topTokenIds.Present[at] ? _topTokenIds.Values[at] : null;
                        top[k - topFrom] = new TopLogprob(vocabulary.TextOf(id, _topTokens.Text(at)), id, values[k - topFrom]);
                    }
                    int a = tokenBase + t;
                    int? tokenId = _tokenIds.Present[a] ? _tokenIds.Values[a] : null;
                    logprobs[t - from] = new TokenLogprob(vocabulary.TextOf(tokenId, _tokens.Text(a)), tokenId, _logprobs.Values[a], top);
                }
                result[i] = result[i] with { Logprobs = logprobs };
            }
            return result;
        }
    }

    private interface IListColumn
    {
        Task ReadAsync(ParquetRowGroupReader rowGroup, int rows, CancellationToken ct);
        void Return();
    }

    /// <summary>
    /// A row-level list column read raw: every element of the row group in <see cref="Values"/> (nulls marked in
    /// <see cref="Present"/>) and where each row starts. Buffers are reused from row group to row group, and rented from
    /// <see cref="ArrayPool{T}.Shared"/> so that the next shard reuses them too (a tool-trace row group's alternatives fill
    /// ~1.1 million entries: new arrays per shard would be large-object allocations and full collections).
    /// </summary>
    private sealed class ListColumn<T> : IListColumn where T : struct
    {
        private readonly ListField _list;
        private readonly DataField _item;
        private T[] _raw = [];
        private int[] _definitions = [];
        private int[] _repetitions = [];
        private int[] _rowStarts = [];

        public ListColumn(ParquetSchema schema, string name)
        {
            _list = schema.Fields.FirstOrDefault(f => f.Name == name) as ListField
                ?? throw new InvalidDataException($"the compact shard has no list column '{name}'");
            _item = _list.Item as DataField ?? throw new InvalidDataException($"column '{name}' is not a list of values");
        }

        public T[] Values { get; private set; } = [];
        public bool[] Present { get; private set; } = [];
        public int Count { get; private set; }

        public int RowStart(int row) => _rowStarts[row];
        public int RowLength(int row) => _rowStarts[row + 1] - _rowStarts[row];

        /// <summary>The element as a string (string columns only), null when the element is null.</summary>
        public string? Text(int at) => Present[at] && Values[at] is ReadOnlyMemory<char> chars ? new string(chars.Span) : null;

        public async Task ReadAsync(ParquetRowGroupReader rowGroup, int rows, CancellationToken ct)
        {
            var meta = rowGroup.GetMetadata(_item)?.MetaData ?? throw new InvalidDataException($"column '{_list.Name}' is missing from a row group");
            int n = checked((int)meta.NumValues);
            if (_raw.Length < n)
            {
                Return();
                _raw = ArrayPool<T>.Shared.Rent(n);
                _definitions = ArrayPool<int>.Shared.Rent(n);
                _repetitions = ArrayPool<int>.Shared.Rent(n);
                Values = ArrayPool<T>.Shared.Rent(n);
                Present = ArrayPool<bool>.Shared.Rent(n);
            }
            if (_rowStarts.Length < rows + 1) _rowStarts = new int[rows + 1];
            await rowGroup.ReadRawAsync(_item, _raw.AsMemory(0, n), _definitions.AsMemory(0, n), _repetitions.AsMemory(0, n), ct).ConfigureAwait(false);

            // An entry below the list's definition level is an empty (or null) list: it starts a row and holds no element.
            int row = -1, count = 0, value = 0, listLevel = _list.MaxDefinitionLevel, itemLevel = _item.MaxDefinitionLevel;
            for (int i = 0; i < n; i++)
            {
                if (_repetitions[i] == 0)
                {
                    if (++row >= rows) throw new InvalidDataException($"column '{_list.Name}' holds more rows than its row group");
                    _rowStarts[row] = count;
                }
                int definition = _definitions[i];
                if (definition < listLevel) continue;
                bool present = definition == itemLevel;
                Values[count] = present ? _raw[value++] : default;
                Present[count++] = present;
            }
            if (row != rows - 1) throw new InvalidDataException($"column '{_list.Name}' holds {row + 1} rows, its row group {rows}");
            _rowStarts[rows] = count;
            Count = count;
        }

        public void Return()
        {
            // Text values point into Parquet.Net's page buffers: cleared, so the pool does not keep those alive.
            bool clear = RuntimeHelpers.IsReferenceOrContainsReferences<T>();
            if (_raw.Length > 0) ArrayPool<T>.Shared.Return(_raw, clear);
            if (Values.Length > 0) ArrayPool<T>.Shared.Return(Values, clear);
            if (_definitions.Length > 0) ArrayPool<int>.Shared.Return(_definitions);
            if (_repetitions.Length > 0) ArrayPool<int>.Shared.Return(_repetitions);
            if (Present.Length > 0) ArrayPool<bool>.Shared.Return(Present);
            (_raw, Values, _definitions, _repetitions, Present) = ([], [], [], [], []);
            Count = 0;
        }
    }
}
