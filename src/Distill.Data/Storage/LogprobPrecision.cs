namespace Distill.Data.Storage;

/// <summary>How compact shards store logprob values (schema version 3).</summary>
public enum LogprobPrecision
{
    /// <summary>
    /// Rounded to float16 precision (about 3 significant digits; -5.0 is kept within 0.002) and stored in a FLOAT column whose
    /// low 13 mantissa bits are zero, so byte-stream-split encoding and Snappy squeeze them to about half of float32. Parquet.Net
    /// cannot write Parquet's FLOAT16 type, and a FLOAT column reads as a float in every tool.
    /// </summary>
    Float16,

    /// <summary>Stored as float32 (about 7 significant digits).</summary>
    Float32,
}

/// <summary>Which layout <see cref="DatasetWriter"/> writes shards in.</summary>
public enum ShardFormat
{
    /// <summary>Schema version 3: logprobs in flat row-level columns (<see cref="CompactSchema"/>). The default.</summary>
    Compact,

    /// <summary>
    /// Schema version 2: logprobs as nested structs in <c>messages[].logprobs</c>, written by Parquet.Net's object serializer.
    /// Kept for comparison (<c>distill bench dataset</c>) and for tests that need an old-format shard.
    /// </summary>
    Nested,
}
