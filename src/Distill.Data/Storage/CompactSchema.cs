using Parquet;
using Parquet.Schema;
using Parquet.Serialization;

namespace Distill.Data.Storage;

/// <summary>
/// The Parquet schema of a compact shard (schema versions 3 and 4). Every column of the nested layout (<see cref="SampleRow"/>) is
/// kept with the same name and type, except <c>messages[].logprobs</c>, whose nested structs become eight flat row-level lists:
/// <code>
/// lp_message_offsets   list&lt;int32&gt;   messages + 1 entries: message i's tokens are lp_*[offsets[i], offsets[i+1])
/// lp_token_ids         list&lt;int32?&gt;  the sampled token's id (null: the teacher's tokenizer is foreign)
/// lp_tokens            list&lt;string?&gt; its text, null when the file's token vocabulary has it for the id
/// lp_logprobs          list&lt;float&gt;   its logprob
/// lp_top_offsets       list&lt;int32&gt;   tokens + 1 entries: token t's alternatives are lp_top_*[offsets[t], offsets[t+1])
/// lp_top_token_ids     list&lt;int32?&gt;
/// lp_top_tokens        list&lt;string?&gt;
/// lp_top_logprob_gaps  list&lt;float&gt;   version 4: each alternative's distance below the one before (<see cref="LogprobGaps"/>)
/// lp_top_logprobs      list&lt;float&gt;   version 3 instead: the alternatives' logprobs themselves
/// </code>
/// Offsets start at 0 in every row. Key-value metadata: <see cref="SchemaVersionKey"/> = 3 or 4, <see cref="PrecisionKey"/>, and
/// the token vocabulary (<see cref="VocabularyKey"/>, see <see cref="TokenVocabulary"/>). Version 4 files are zstd-compressed,
/// offsets DELTA_BINARY_PACKED, ids PLAIN (zstd codes frequent ids shorter; delta coding cannot) and logprobs BYTE_STREAM_SPLIT;
/// version 3 files are Snappy with DELTA_BINARY_PACKED ids. All are standard Parquet that DuckDB, Arrow (pandas, Hugging Face
/// datasets) and Spark read.
/// </summary>
public sealed class CompactSchema
{
    /// <summary>The layout the writer writes.</summary>
    public const int Version = 4;

    /// <summary>The first compact layout: logprobs themselves in <see cref="TopLogprobs"/>, Snappy.</summary>
    public const int FirstVersion = 3;
    public const string SchemaVersionKey = "distill.schema_version";
    public const string PrecisionKey = "distill.logprob_precision";
    public const string VocabularyKey = "distill.token_vocabulary";

    public const string MessageOffsets = "lp_message_offsets";
    public const string TokenIds = "lp_token_ids";
    public const string Tokens = "lp_tokens";
    public const string Logprobs = "lp_logprobs";
    public const string TopOffsets = "lp_top_offsets";
    public const string TopTokenIds = "lp_top_token_ids";
    public const string TopTokens = "lp_top_tokens";
    public const string TopLogprobs = "lp_top_logprobs";
    public const string TopLogprobGaps = "lp_top_logprob_gaps";

    /// <summary>The eight logprob columns of a file of <paramref name="version"/>, in file order.</summary>
    public static IReadOnlyList<string> LogprobColumns(int version) =>
        [MessageOffsets, TokenIds, Tokens, Logprobs, TopOffsets, TopTokenIds, TopTokens, TopValuesColumn(version)];

    /// <summary>The column that holds the alternatives' logprobs in a file of <paramref name="version"/>.</summary>
    public static string TopValuesColumn(int version) => version >= 4 ? TopLogprobGaps : TopLogprobs;

    private const string MessagesName = "messages";
    private const string ToolCallsName = "tool_calls";
    private const string RejectReasonName = "reject_reason";

    public static readonly CompactSchema Samples = new(rejects: false, Version);
    public static readonly CompactSchema Rejects = new(rejects: true, Version);
    public static readonly CompactSchema SamplesV3 = new(rejects: false, FirstVersion);
    public static readonly CompactSchema RejectsV3 = new(rejects: true, FirstVersion);

    /// <summary>The schema of a sample or reject shard of <paramref name="version"/> (3 or 4).</summary>
    public static CompactSchema For(bool rejects, int version) =>
        version >= Version ? (rejects ? Rejects : Samples) : (rejects ? RejectsV3 : SamplesV3);

    private CompactSchema(bool rejects, int version)
    {
        LayoutVersion = version;
        var nested = typeof(SampleRow).GetParquetSchema(false);
        var nestedMessages = (ListField)nested.Fields.Single(f => f.Name == MessagesName);
        var nestedMessage = (StructField)nestedMessages.Item;
        var nestedToolCalls = (ListField)nestedMessage.Fields.Single(f => f.Name == ToolCallsName);

        ToolCallFields = ((StructField)nestedToolCalls.Item).Fields.Cast<DataField>().Select(Clone).ToArray();
        ToolCalls = new ListField(ToolCallsName, new StructField(ListField.ElementName, [.. ToolCallFields]));
        // The message struct keeps every nested-layout field except the logprob list, in the same order.
        var messageFields = new List<Field>();
        foreach (var f in nestedMessage.Fields)
        {
            if (f.Name == ToolCallsName) messageFields.Add(ToolCalls);
            else if (f is DataField d) messageFields.Add(Clone(d));
        }
        MessageFields = messageFields.OfType<DataField>().ToArray();
        Message = new StructField(ListField.ElementName, [.. messageFields]);
        Messages = new ListField(MessagesName, Message);

        var top = new List<Field>();
        foreach (var f in nested.Fields)
            top.Add(f.Name == MessagesName ? Messages : Clone((DataField)f));
        RowFields = top.OfType<DataField>().ToArray();

        MessageOffsetsList = new ListField(MessageOffsets, new DataField<int>(ListField.ElementName, false));
        TokenIdsList = new ListField(TokenIds, new DataField<int?>(ListField.ElementName));
        TokensList = new ListField(Tokens, new DataField<string>(ListField.ElementName, true));
        LogprobsList = new ListField(Logprobs, new DataField<float>(ListField.ElementName, false));
        TopOffsetsList = new ListField(TopOffsets, new DataField<int>(ListField.ElementName, false));
        TopTokenIdsList = new ListField(TopTokenIds, new DataField<int?>(ListField.ElementName));
        TopTokensList = new ListField(TopTokens, new DataField<string>(ListField.ElementName, true));
        TopLogprobsList = new ListField(TopValuesColumn(version), new DataField<float>(ListField.ElementName, false));
        top.AddRange([MessageOffsetsList, TokenIdsList, TokensList, LogprobsList, TopOffsetsList, TopTokenIdsList, TopTokensList, TopLogprobsList]);

        if (rejects)
        {
            RejectReason = Clone(typeof(RejectRow).GetParquetSchema(false).GetDataFields().Single(f => f.Name == RejectReasonName));
            top.Add(RejectReason);
        }
        Schema = new ParquetSchema(top);
    }

    public ParquetSchema Schema { get; }

    /// <summary>3 or 4.</summary>
    public int LayoutVersion { get; }

    /// <summary>Top-level scalar columns (id, kind, tools, lineage, quality, cost), in file order.</summary>
    public IReadOnlyList<DataField> RowFields { get; }

    public ListField Messages { get; }
    public StructField Message { get; }

    /// <summary>Scalar fields of a message (role, content, ..., is_error), in file order.</summary>
    public IReadOnlyList<DataField> MessageFields { get; }

    public ListField ToolCalls { get; }
    public IReadOnlyList<DataField> ToolCallFields { get; }

    public ListField MessageOffsetsList { get; }
    public ListField TokenIdsList { get; }
    public ListField TokensList { get; }
    public ListField LogprobsList { get; }
    public ListField TopOffsetsList { get; }
    public ListField TopTokenIdsList { get; }
    public ListField TopTokensList { get; }
    /// <summary>The alternatives' logprobs: <see cref="TopLogprobGaps"/> in version 4, <see cref="TopLogprobs"/> in version 3.</summary>
    public ListField TopLogprobsList { get; }

    /// <summary>The reject shard's extra column; null for sample shards.</summary>
    public DataField? RejectReason { get; }

    /// <summary>
    /// Writer options. Version 4: zstd (Parquet.Net's "optimal" level), which entropy-codes the byte-split logprob streams and the
    /// plain ids that Snappy only copies; version 3: <paramref name="baseOptions"/>' codec (Snappy) with delta-coded ids.
    /// </summary>
    public ParquetOptions WriterOptions(ParquetOptions baseOptions)
    {
        bool v4 = LayoutVersion >= 4;
        var options = v4
            ? new ParquetOptions { CompressionMethod = CompressionMethod.Zstd, CompressionLevel = System.IO.Compression.CompressionLevel.Optimal }
            : new ParquetOptions { CompressionMethod = baseOptions.CompressionMethod, CompressionLevel = baseOptions.CompressionLevel };
        foreach (var list in v4 ? new[] { MessageOffsetsList, TopOffsetsList } : new[] { MessageOffsetsList, TokenIdsList, TopOffsetsList, TopTokenIdsList })
            options.ColumnEncodingHints[Item(list).Path.ToString()] = EncodingHint.DeltaBinaryPacked;
        foreach (var list in new[] { LogprobsList, TopLogprobsList })
            options.ColumnEncodingHints[Item(list).Path.ToString()] = EncodingHint.ByteSplitStream;
        return options;
    }

    /// <summary>True when a file's footer says it is a compact shard.</summary>
    public static bool IsCompact(ParquetReader reader) => LayoutVersionOf(reader) is not null;

    /// <summary>The compact layout version a file's footer states (3 or later), or null for a nested-layout file.</summary>
    public static int? LayoutVersionOf(ParquetReader reader) =>
        reader.CustomMetadata.TryGetValue(SchemaVersionKey, out var v) && int.TryParse(v, out int version) && version >= FirstVersion
            ? version : null;

    public static DataField Item(ListField list) => (DataField)list.Item;

    // A field instance belongs to one schema (its path and levels are set when the schema is built), so each is copied.
    private static DataField Clone(DataField field) => (DataField)field.Clone();
}
