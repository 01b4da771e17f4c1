namespace Distill.Data.Storage;

/// <summary>How compact shards store logprob values (schema version 3).</summary>
public enum LogprobPrecision
{
    /// <summary>
    /// Rounded to float16 precision (relative error at most 2^-11, i.e. within 4.9e-4 x |logprob| nats: -5.0 is kept within
    /// 0.0025) and stored in a FLOAT column whose low 13 mantissa bits are zero, which byte-stream-split encoding and the codec
    /// squeeze. Parquet.Net cannot write Parquet's FLOAT16 type, and a FLOAT column reads as a float in every tool.
    /// </summary>
    Float16,

    /// <summary>Stored as float32 (about 7 significant digits).</summary>
    Float32,
}

/// <summary>Which layout <see cref="DatasetWriter"/> writes shards in.</summary>
public enum ShardFormat
{
    /// <summary>
    /// Schema version 4: logprobs in flat row-level columns, the alternatives' as gaps (<see cref="CompactSchema"/>,
    /// <see cref="LogprobGaps"/>), zstd. The default.
    /// </summary>
    Compact,

    /// <summary>
    /// Schema version 2: logprobs as nested structs in <c>messages[].logprobs</c>, written by Parquet.Net's object serializer.
    /// Kept for comparison (<c>distill bench dataset</c>) and for tests that need an old-format shard.
    /// </summary>
    Nested,

    /// <summary>
    /// Schema version 3: the first compact layout (the alternatives' logprobs themselves, Snappy). Kept for comparison
    /// (<c>distill bench dataset</c>) and for tests that need a version 3 shard.
    /// </summary>
    CompactV3,
}
