using System.Reflection;
using System.Text.Json.Serialization;
using Distill.Core.Samples;
using Parquet;
using Parquet.Schema;

namespace Distill.Data.Storage;

/// <summary>
/// Writes one compact shard (<see cref="CompactSchema"/>) with Parquet.Net's low-level column writer: each row group's columns
/// are filled as flat arrays with their Dremel levels and written column by column, so no per-object shredding happens. While
/// Parquet.Net encodes and compresses one row group on a pool thread, the next one's rows are shaped into a second set of buffers.
/// </summary>
internal sealed class CompactShardWriter
{
    private readonly CompactSchema _schema;
    private readonly LogprobPrecision _precision;
    private readonly TokenVocabulary _vocabulary = new();
    // Two sets of column buffers: the rows of one row group are shaped into one set while Parquet.Net encodes and compresses
    // the previous row group from the other (on another core, when there is one).
    private RowGroupColumns _columns;
    private RowGroupColumns _spare;

    private static readonly IReadOnlyDictionary<string, PropertyInfo> RowProperties = PropertiesByColumn(typeof(RejectRow));
    private static readonly IReadOnlyDictionary<string, PropertyInfo> MessageProperties = PropertiesByColumn(typeof(MessageRow));
    private static readonly IReadOnlyDictionary<string, PropertyInfo> ToolCallProperties = PropertiesByColumn(typeof(ToolCallRow));

    private readonly LogprobLevels _levels;
    // One token's alternatives, gathered before they are appended to their columns.
    private float[] _topValues = new float[32];
    private float[] _topStored = new float[32];
    private int[] _topIds = new int[32];
    private string?[] _topTexts = new string?[32];

    /// <param name="layoutVersion">4 (the current layout) or 3 (the first compact layout, for comparison and tests).</param>
    public CompactShardWriter(bool rejects, LogprobPrecision precision, int layoutVersion = CompactSchema.Version)
    {
        _schema = CompactSchema.For(rejects, layoutVersion);
        _precision = precision;
        _levels = LogprobLevels.Of(_schema);
        _columns = new RowGroupColumns(_schema);
        _spare = new RowGroupColumns(_schema);
    }

    /// <summary>Writes <paramref name="samples"/> (with their reject reasons for a rejects shard) to <paramref name="stream"/>.</summary>
    public async Task WriteAsync(Stream stream, IReadOnlyList<Sample> samples, IReadOnlyList<string>? rejectReasons, int rowGroupRows,
        ParquetOptions baseOptions, CancellationToken ct)
    {
        if ((_schema.RejectReason is null) != (rejectReasons is null))
            throw new ArgumentException("reject reasons are required for a rejects shard, and only there", nameof(rejectReasons));
        await using var writer = await ParquetWriter.CreateAsync(_schema.Schema, stream, _schema.WriterOptions(baseOptions), false, ct).ConfigureAwait(false);
        var written = Task.CompletedTask;
        try
        {
            for (int start = 0; start < samples.Count || start == 0; start += rowGroupRows)
            {
                int end = Math.Min(samples.Count, start + rowGroupRows);
                _columns.Clear();
                for (int i = start; i < end; i++) AddRow(samples[i], rejectReasons?[i]);
                await written.ConfigureAwait(false);
                var full = _columns;
                (_columns, _spare) = (_spare, full);
                written = Task.Run(() => WriteRowGroupAsync(writer, full, ct), ct);
                if (samples.Count == 0) break;
            }
            await written.ConfigureAwait(false);
        }
        catch
        {
            // The writer must not be disposed under a row group still being written (WhenAny waits without rethrowing).
            await Task.WhenAny(written).ConfigureAwait(false);
            throw;
        }
        finally
        {
            // Nothing reads the buffers any more (the catch waited for the last row group), so the next shard can rent them.
            _columns.Return();
            _spare.Return();
        }
        writer.CustomMetadata = new Dictionary<string, string>
        {
            [CompactSchema.SchemaVersionKey] = _schema.LayoutVersion.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [CompactSchema.PrecisionKey] = _precision.ToString().ToLowerInvariant(),
            [CompactSchema.VocabularyKey] = _vocabulary.ToJson(),
        };
    }

    private async Task WriteRowGroupAsync(ParquetWriter writer, RowGroupColumns columns, CancellationToken ct)
    {
        using var rowGroup = writer.CreateRowGroup();
        foreach (var field in _schema.Schema.GetDataFields())
            await columns.Buffers[field].WriteAsync(rowGroup, field, ct).ConfigureAwait(false);
        rowGroup.CompleteValidate();
    }

    private void AddRow(Sample sample, string? rejectReason)
    {
        var buffers = _columns.Buffers;
        var row = SampleRowMapper.ToRow(sample, withLogprobs: false);
        foreach (var field in _schema.RowFields)
            buffers[field].Add(RowProperties[field.Name].GetValue(row), field.MaxDefinitionLevel, 0);
        if (_schema.RejectReason is { } reason) buffers[reason].Add(rejectReason, reason.MaxDefinitionLevel, 0);

        var messages = _schema.Messages;
        foreach (var field in _schema.MessageFields)
        {
            var buffer = buffers[field];
            if (row.Messages.Count == 0) buffer.Level(messages.MaxDefinitionLevel - 1, 0);
            for (int i = 0; i < row.Messages.Count; i++)
                buffer.Add(MessageProperties[field.Name].GetValue(row.Messages[i]), field.MaxDefinitionLevel, i == 0 ? 0 : messages.MaxRepetitionLevel);
        }
        var calls = _schema.ToolCalls;
        foreach (var field in _schema.ToolCallFields)
        {
            var buffer = buffers[field];
            if (row.Messages.Count == 0) buffer.Level(messages.MaxDefinitionLevel - 1, 0);
            for (int i = 0; i < row.Messages.Count; i++)
            {
                int messageRepetition = i == 0 ? 0 : messages.MaxRepetitionLevel;
                var toolCalls = row.Messages[i].ToolCalls;
                if (toolCalls.Count == 0) buffer.Level(calls.MaxDefinitionLevel - 1, messageRepetition);
                for (int j = 0; j < toolCalls.Count; j++)
                    buffer.Add(ToolCallProperties[field.Name].GetValue(toolCalls[j]), field.MaxDefinitionLevel, j == 0 ? messageRepetition : calls.MaxRepetitionLevel);
            }
        }
        AddLogprobs(sample.Messages);
    }

    // Row-level lists: the first entry of a row repeats at level 0, the rest at level 1; an empty list is one entry below the
    // list's maximum definition level (only the token lists can be empty: the offsets always hold at least one entry).
    // Indexed loops over the interfaces, no LINQ: this runs for every token and alternative (~4,500 per tool-trace row).
    private void AddLogprobs(IReadOnlyList<ChatMessage> messages)
    {
        var levels = _levels;
        var c = _columns;
        int tokens = 0;
        bool anyTop = false;
        c.MessageOffsets.Value(0, levels.Offset, 0);
        for (int i = 0; i < messages.Count; i++)
        {
            var logprobs = messages[i].Logprobs;
            tokens += logprobs.Count;
            c.MessageOffsets.Value(tokens, levels.Offset, 1);
            for (int t = 0; t < logprobs.Count && !anyTop; t++) anyTop = logprobs[t].Top.Count > 0;
        }

        c.TopOffsets.Value(0, levels.TopOffset, 0);
        if (tokens == 0)
        {
            foreach (var column in new IColumnBuffer[] { c.TokenIds, c.Tokens, c.Logprobs, c.TopTokenIds, c.TopTokens, c.TopLogprobs })
                column.Level(levels.EmptyList, 0);
            return;
        }

        int tokenRepetition = 0, topRepetition = 0, alternatives = 0;
        for (int i = 0; i < messages.Count; i++)
        {
            var logprobs = messages[i].Logprobs;
            for (int t = 0; t < logprobs.Count; t++)
            {
                var token = logprobs[t];
                AddToken(c.TokenIds, c.Tokens, token.TokenId, token.Token, tokenRepetition);
                c.Logprobs.Value(LogprobGaps.Round(token.Logprob, _precision), levels.Logprob, tokenRepetition);
                tokenRepetition = 1;

                var top = token.Top;
                if (top.Count > 0)
                {
                    if (_topValues.Length < top.Count)
                        (_topValues, _topStored, _topIds, _topTexts) = (new float[top.Count * 2], new float[top.Count * 2], new int[top.Count * 2], new string?[top.Count * 2]);
                    var values = _topValues.AsSpan(0, top.Count);
                    var ids = _topIds.AsSpan(0, top.Count);
                    var texts = _topTexts.AsSpan(0, top.Count);
                    bool allIds = true, anyText = false;
                    for (int k = 0; k < top.Count; k++)
                    {
                        var alternative = top[k];
                        if (alternative.TokenId is { } id) ids[k] = id;
                        else allIds = false;
                        anyText |= (texts[k] = _vocabulary.TextToStore(alternative.TokenId, alternative.Token)) is not null;
                        values[k] = LogprobGaps.Round(alternative.Logprob, _precision);
                    }
                    // Usually every alternative has an id and no text of its own: then both columns take the list in one append.
                    if (allIds) c.TopTokenIds.Values(ids, levels.Id, topRepetition);
                    else
                        for (int k = 0; k < top.Count; k++)
                            AddId(c.TopTokenIds, top[k].TokenId, k == 0 ? topRepetition : 1);
                    if (!anyText) c.TopTokens.Levels(top.Count, levels.Text - 1, topRepetition);
                    else
                        for (int k = 0; k < top.Count; k++)
                            AddText(c.TopTokens, texts[k], k == 0 ? topRepetition : 1);
                    if (_schema.LayoutVersion >= 4)
                    {
                        var stored = _topStored.AsSpan(0, top.Count);
                        LogprobGaps.Encode(values, stored, _precision);
                        values = stored;
                    }
                    c.TopLogprobs.Values(values, levels.Logprob, topRepetition);
                    topRepetition = 1;
                    alternatives += top.Count;
                }
                c.TopOffsets.Value(alternatives, levels.TopOffset, 1);
            }
        }
        if (!anyTop)
            foreach (var column in new IColumnBuffer[] { c.TopTokenIds, c.TopTokens, c.TopLogprobs })
                column.Level(levels.EmptyList, 0);
    }

    private void AddToken(LeveledColumn<int> ids, LeveledColumn<ReadOnlyMemory<char>> texts, int? id, string text, int repetition)
    {
        AddId(ids, id, repetition);
        AddText(texts, _vocabulary.TextToStore(id, text), repetition);
    }

    private void AddId(LeveledColumn<int> ids, int? id, int repetition)
    {
        if (id is { } known) ids.Value(known, _levels.Id, repetition);
        else ids.Level(_levels.Id - 1, repetition);
    }

    /// <summary>A token's own text, or a null entry when the vocabulary holds its text (<paramref name="stored"/> is null).</summary>
    private void AddText(LeveledColumn<ReadOnlyMemory<char>> texts, string? stored, int repetition)
    {
        if (stored is not null) texts.Value(stored.AsMemory(), _levels.Text, repetition);
        else texts.Level(_levels.Text - 1, repetition);
    }

    /// <summary>One row group's column buffers: the scalar, message and tool-call fields by field, and the eight logprob lists.</summary>
    private sealed class RowGroupColumns
    {
        public readonly Dictionary<DataField, IColumnBuffer> Buffers = new(ReferenceEqualityComparer.Instance);
        public readonly LeveledColumn<int> MessageOffsets = new();
        public readonly LeveledColumn<int> TokenIds = new();
        public readonly LeveledColumn<ReadOnlyMemory<char>> Tokens = new();
        public readonly LeveledColumn<float> Logprobs = new();
        public readonly LeveledColumn<int> TopOffsets = new();
        public readonly LeveledColumn<int> TopTokenIds = new();
        public readonly LeveledColumn<ReadOnlyMemory<char>> TopTokens = new();
        public readonly LeveledColumn<float> TopLogprobs = new();

        public RowGroupColumns(CompactSchema schema)
        {
            foreach (var field in schema.RowFields.Concat(schema.MessageFields).Concat(schema.ToolCallFields))
                Buffers[field] = IColumnBuffer.For(field.ClrType);
            if (schema.RejectReason is { } reason) Buffers[reason] = IColumnBuffer.For(reason.ClrType);
            Buffers[CompactSchema.Item(schema.MessageOffsetsList)] = MessageOffsets;
            Buffers[CompactSchema.Item(schema.TokenIdsList)] = TokenIds;
            Buffers[CompactSchema.Item(schema.TokensList)] = Tokens;
            Buffers[CompactSchema.Item(schema.LogprobsList)] = Logprobs;
            Buffers[CompactSchema.Item(schema.TopOffsetsList)] = TopOffsets;
            Buffers[CompactSchema.Item(schema.TopTokenIdsList)] = TopTokenIds;
            Buffers[CompactSchema.Item(schema.TopTokensList)] = TopTokens;
            Buffers[CompactSchema.Item(schema.TopLogprobsList)] = TopLogprobs;
        }

        public void Clear()
        {
            foreach (var buffer in Buffers.Values) buffer.Clear();
        }

        public void Return()
        {
            foreach (var buffer in Buffers.Values) buffer.Return();
        }
    }

    /// <summary>The float a logprob is stored as: rounded to float16 precision, or to float32.</summary>
    public static float Store(double logprob, LogprobPrecision precision) => LogprobGaps.Round(logprob, precision);

    /// <summary>The definition levels of the logprob lists, the same in every one of them (row-level lists of values).</summary>
    private sealed record LogprobLevels(int Offset, int TopOffset, int Id, int Text, int Logprob, int EmptyList)
    {
        public static LogprobLevels Of(CompactSchema schema)
        {
            int emptyList = schema.TokenIdsList.MaxDefinitionLevel - 1;
            foreach (var list in new[] { schema.TokensList, schema.LogprobsList, schema.TopTokenIdsList, schema.TopTokensList, schema.TopLogprobsList })
                if (list.MaxDefinitionLevel - 1 != emptyList) throw new InvalidOperationException("the logprob lists' levels differ");
            if (CompactSchema.Item(schema.TopTokenIdsList).MaxDefinitionLevel != CompactSchema.Item(schema.TokenIdsList).MaxDefinitionLevel
                || CompactSchema.Item(schema.TopTokensList).MaxDefinitionLevel != CompactSchema.Item(schema.TokensList).MaxDefinitionLevel
                || CompactSchema.Item(schema.TopLogprobsList).MaxDefinitionLevel != CompactSchema.Item(schema.LogprobsList).MaxDefinitionLevel)
                throw new InvalidOperationException("the token and alternative lists' levels differ");
            return new(CompactSchema.Item(schema.MessageOffsetsList).MaxDefinitionLevel, CompactSchema.Item(schema.TopOffsetsList).MaxDefinitionLevel,
                CompactSchema.Item(schema.TokenIdsList).MaxDefinitionLevel, CompactSchema.Item(schema.TokensList).MaxDefinitionLevel,
                CompactSchema.Item(schema.LogprobsList).MaxDefinitionLevel, emptyList);
        }
    }

    private static Dictionary<string, PropertyInfo> PropertiesByColumn(Type type) =>
        type.GetProperties().ToDictionary(p => p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? p.Name, StringComparer.Ordinal);
}
