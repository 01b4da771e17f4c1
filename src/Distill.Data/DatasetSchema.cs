namespace Distill.Data;

/// <summary>The on-disk format of a dataset folder.</summary>
/// <remarks>
/// <code>
/// datasets/&lt;name&gt;/manifest.json
///                  shards/part-00000.parquet        (single writer)
///                  shards/part-w1of4-00000.parquet  (worker 1 of 4, `--shard 1/4`)
///                  rejects/part-00000.parquet
/// </code>
/// </remarks>
public static class DatasetSchema
{
    /// <summary>
    /// Bump when a Parquet column or a manifest field changes meaning. Version 4: compact shards whose alternatives' logprobs are
    /// stored as gaps in <c>lp_top_logprob_gaps</c> (<see cref="Storage.LogprobGaps"/>), zstd-compressed. Version 3: compact shards, logprobs in flat row-level
    /// <c>lp_*</c> columns (<see cref="Storage.CompactSchema"/>). Version 2: teacher logprobs per assistant turn as nested structs in
    /// <c>messages[].logprobs</c>. Version 1: the final turn's only, in a top-level <c>teacher_logprobs</c> column.
    /// </summary>
    public const int Version = 4;

    /// <summary>
    /// The oldest version this Distill still reads. Each shard is read by its own columns, so a dataset that an older run
    /// started and a newer run resumed holds both kinds of shard and reads as one (`distill dataset upgrade` rewrites the old ones).
    /// </summary>
    public const int OldestReadableVersion = 1;

    public const string ManifestFile = "manifest.json";
    public const string ShardsFolder = "shards";
    public const string RejectsFolder = "rejects";
    public const string ManifestLockFile = "manifest.lock";

    /// <summary>Shard file name (relative to the dataset folder, '/' separated as stored in the manifest).</summary>
    public static string ShardName(bool rejects, string? workerTag, int index) =>
        $"{(rejects ? RejectsFolder : ShardsFolder)}/part-{(string.IsNullOrEmpty(workerTag) ? "" : workerTag + "-")}{index:D5}.parquet";

    /// <summary>
    /// The suffix `distill dataset upgrade` gives the file it rewrites a shard into: part-00000.parquet -> part-00000.v4.parquet
    /// (an earlier upgrade's part-00000.v3.parquet -> part-00000.v3.v4.parquet).
    /// </summary>
    public const string UpgradedSuffix = ".v4";

    // Suffixes earlier versions' upgrades gave, still recognised in file names.
    private static readonly string[] UpgradedSuffixes = [".v3", UpgradedSuffix];

    /// <summary>
    /// The sequence number of a shard file written by <paramref name="workerTag"/> (or upgraded from one), or null if another worker's.
    /// </summary>
    public static int? ShardIndex(string fileName, string? workerTag)
    {
        string name = Path.GetFileName(fileName);
        bool stripped = true;
        while (stripped)
        {
            stripped = false;
            foreach (var suffix in UpgradedSuffixes)
                if (name.EndsWith(suffix + ".parquet", StringComparison.Ordinal))
                {
                    name = name[..^(suffix.Length + ".parquet".Length)] + ".parquet";
                    stripped = true;
                }
        }
        string prefix = "part-" + (string.IsNullOrEmpty(workerTag) ? "" : workerTag + "-");
        if (!name.StartsWith(prefix, StringComparison.Ordinal) || !name.EndsWith(".parquet", StringComparison.Ordinal))
            return null;
        string digits = name[prefix.Length..^".parquet".Length];
        return digits.Length >= 5 && digits.All(char.IsAsciiDigit) ? int.Parse(digits, System.Globalization.CultureInfo.InvariantCulture) : null;
    }
}
