using System.Reflection;
using System.Text.Json.Serialization;
using Distill.Core.Samples;
using Parquet;
using Parquet.Schema;

namespace Distill.Data.Storage;

/// <summary>
/// Writes one compact shard (<see cref="CompactSchema"/>) with Parquet.Net's low-level column writer: each row group's columns
/// are filled as flat arrays with their Dremel levels and written column by column, so no per-object shredding happens.
/// </summary>
internal sealed class CompactShardWriter
{
    private readonly CompactSchema _schema;
    private readonly LogprobPrecision _precision;
    private readonly TokenVocabulary _vocabulary = new();
    private readonly Dictionary<DataField, IColumnBuffer> _buffers = new(ReferenceEqualityComparer.Instance);
    private readonly LeveledColumn<int> _messageOffsets = new();
    private readonly LeveledColumn<int> _tokenIds = new();
    private readonly LeveledColumn<ReadOnlyMemory<char>> _tokens = new();
    private readonly LeveledColumn<float> _logprobs = new();
    private readonly LeveledColumn<int> _topOffsets = new();
    private readonly LeveledColumn<int> _topTokenIds = new();
    private readonly LeveledColumn<ReadOnlyMemory<char>> _topTokens = new();
    private readonly LeveledColumn<float> _topLogprobs = new();

    private static readonly IReadOnlyDictionary<string, PropertyInfo> RowProperties = PropertiesByColumn(typeof(RejectRow));
    private static readonly IReadOnlyDictionary<string, PropertyInfo> MessageProperties = PropertiesByColumn(typeof(MessageRow));
    private static readonly IReadOnlyDictionary<string, PropertyInfo> ToolCallProperties = PropertiesByColumn(typeof(ToolCallRow));

    public CompactShardWriter(bool rejects, LogprobPrecision precision)
    {
        _schema = rejects ? CompactSchema.Rejects : CompactSchema.Samples;
        _precision = precision;
        foreach (var field in _schema.RowFields.Concat(_schema.MessageFields).Concat(_schema.ToolCallFields))
            _buffers[field] = IColumnBuffer.For(field.ClrType);
        if (_schema.RejectReason is { } reason) _buffers[reason] = IColumnBuffer.For(reason.ClrType);
        _buffers[CompactSchema.Item(_schema.MessageOffsetsList)] = _messageOffsets;
        _buffers[CompactSchema.Item(_schema.TokenIdsList)] = _tokenIds;
        _buffers[CompactSchema.Item(_schema.TokensList)] = _tokens;
        _buffers[CompactSchema.Item(_schema.LogprobsList)] = _logprobs;
        _buffers[CompactSchema.Item(_schema.TopOffsetsList)] = _topOffsets;
        _buffers[CompactSchema.Item(_schema.TopTokenIdsList)] = _topTokenIds;
        _buffers[CompactSchema.Item(_schema.TopTokensList)] = _topTokens;
        _buffers[CompactSchema.Item(_schema.TopLogprobsList)] = _topLogprobs;
    }

    /// <summary>Writes <paramref name="samples"/> (with their reject reasons for a rejects shard) to <paramref name="stream"/>.</summary>
    public async Task WriteAsync(Stream stream, IReadOnlyList<Sample> samples, IReadOnlyList<string>? rejectReasons, int rowGroupRows,
        ParquetOptions baseOptions, CancellationToken ct)
    {
        if ((_schema.RejectReason is null) != (rejectReasons is null))
            throw new ArgumentException("reject reasons are required for a rejects shard, and only there", nameof(rejectReasons));
        await using var writer = await ParquetWriter.CreateAsync(_schema.Schema, stream, _schema.WriterOptions(baseOptions), false, ct).ConfigureAwait(false);
        for (int start = 0; start < samples.Count || start == 0; start += rowGroupRows)
        {
            int end = Math.Min(samples.Count, start + rowGroupRows);
            foreach (var buffer in _buffers.Values) buffer.Clear();
            for (int i = start; i < end; i++) AddRow(samples[i], rejectReasons?[i]);
            using var rowGroup = writer.CreateRowGroup();
            foreach (var field in _schema.Schema.GetDataFields())
                await _buffers[field].WriteAsync(rowGroup, field, ct).ConfigureAwait(false);
            rowGroup.CompleteValidate();
            if (samples.Count == 0) break;
        }
        writer.CustomMetadata = new Dictionary<string, string>
        {
            [CompactSchema.SchemaVersionKey] = CompactSchema.Version.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [CompactSchema.PrecisionKey] = _precision.ToString().ToLowerInvariant(),
            [CompactSchema.VocabularyKey] = _vocabulary.ToJson(),
        };
    }

    private void AddRow(Sample sample, string? rejectReason)
    {
        var row = SampleRowMapper.ToRow(sample, withLogprobs: false);
        foreach (var field in _schema.RowFields)
            _buffers[field].Add(RowProperties[field.Name].GetValue(row), field.MaxDefinitionLevel, 0);
        if (_schema.RejectReason is { } reason) _buffers[reason].Add(rejectReason, reason.MaxDefinitionLevel, 0);

        var messages = _schema.Messages;
        foreach (var field in _schema.MessageFields)
        {
            var buffer = _buffers[field];
            if (row.Messages.Count == 0) buffer.Level(messages.MaxDefinitionLevel - 1, 0);
            for (int i = 0; i < row.Messages.Count; i++)
                buffer.Add(MessageProperties[field.Name].GetValue(row.Messages[i]), field.MaxDefinitionLevel, i == 0 ? 0 : messages.MaxRepetitionLevel);
        }
        var calls = _schema.ToolCalls;
        foreach (var field in _schema.ToolCallFields)
        {
            var buffer = _buffers[field];
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
    private void AddLogprobs(IReadOnlyList<ChatMessage> messages)
    {
        int tokens = 0, alternatives = 0;
        var offsetItem = CompactSchema.Item(_schema.MessageOffsetsList);
        _messageOffsets.Value(0, offsetItem.MaxDefinitionLevel, 0);
        foreach (var m in messages)
        {
            tokens += m.Logprobs.Count;
            _messageOffsets.Value(tokens, offsetItem.MaxDefinitionLevel, 1);
        }

        var topOffsetItem = CompactSchema.Item(_schema.TopOffsetsList);
        _topOffsets.Value(0, topOffsetItem.MaxDefinitionLevel, 0);
        if (tokens == 0)
        {
            foreach (var list in new[] { _schema.TokenIdsList, _schema.TokensList, _schema.LogprobsList, _schema.TopTokenIdsList, _schema.TopTokensList, _schema.TopLogprobsList })
                _buffers[CompactSchema.Item(list)].Level(list.MaxDefinitionLevel - 1, 0);
            return;
        }

        int idLevel = CompactSchema.Item(_schema.TokenIdsList).MaxDefinitionLevel, textLevel = CompactSchema.Item(_schema.TokensList).MaxDefinitionLevel;
        int logprobLevel = CompactSchema.Item(_schema.LogprobsList).MaxDefinitionLevel;
        bool anyTop = messages.Any(m => m.Logprobs.Any(t => t.Top.Count > 0));
        int tokenIndex = 0, topIndex = 0;
        foreach (var m in messages)
        {
            foreach (var t in m.Logprobs)
            {
                int repetition = tokenIndex++ == 0 ? 0 : 1;
                AddToken(_tokenIds, _tokens, _logprobs, t.TokenId, t.Token, t.Logprob, idLevel, textLevel, logprobLevel, repetition);
                foreach (var alt in t.Top)
                    AddToken(_topTokenIds, _topTokens, _topLogprobs, alt.TokenId, alt.Token, alt.Logprob, idLevel, textLevel, logprobLevel, topIndex++ == 0 ? 0 : 1);
                alternatives += t.Top.Count;
                _topOffsets.Value(alternatives, topOffsetItem.MaxDefinitionLevel, 1);
            }
        }
        if (!anyTop)
            foreach (var list in new[] { _schema.TopTokenIdsList, _schema.TopTokensList, _schema.TopLogprobsList })
                _buffers[CompactSchema.Item(list)].Level(list.MaxDefinitionLevel - 1, 0);
    }

    private void AddToken(LeveledColumn<int> ids, LeveledColumn<ReadOnlyMemory<char>> texts, LeveledColumn<float> logprobs,
        int? id, string text, double logprob, int idLevel, int textLevel, int logprobLevel, int repetition)
    {
        if (id is { } known) ids.Value(known, idLevel, repetition);
        else ids.Level(idLevel - 1, repetition);
        if (_vocabulary.TextToStore(id, text) is { } stored) texts.Value(stored.AsMemory(), textLevel, repetition);
        else texts.Level(textLevel - 1, repetition);
        logprobs.Value(Store(logprob, _precision), logprobLevel, repetition);
    }

    /// <summary>The float a logprob is stored as: rounded to float16 precision, or to float32.</summary>
    public static float Store(double logprob, LogprobPrecision precision) =>
        precision == LogprobPrecision.Float16 ? (float)(Half)logprob : (float)logprob;

    private static Dictionary<string, PropertyInfo> PropertiesByColumn(Type type) =>
        type.GetProperties().ToDictionary(p => p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? p.Name, StringComparer.Ordinal);
}
