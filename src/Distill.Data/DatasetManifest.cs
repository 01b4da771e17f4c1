using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Distill.Core.Errors;

namespace Distill.Data;

/// <summary>One committed Parquet file listed by the manifest.</summary>
/// <param name="File">Path relative to the dataset folder, '/' separated, e.g. <c>shards/part-00000.parquet</c>.</param>
/// <param name="ByKind">Rows per sample kind in this file.</param>
/// <param name="ByReason">Rows per reject reason (reject shards only).</param>
public sealed record ShardEntry(
    string File,
    long Rows,
    long Bytes,
    string Sha256,
    string? Worker,
    IReadOnlyDictionary<string, long> ByKind,
    IReadOnlyDictionary<string, long>? ByReason = null);

/// <summary>Totals over the manifest's shards (derived; written for humans and tools, recomputed on read).</summary>
public sealed record DatasetCounts(
    long Accepted,
    long Rejected,
    IReadOnlyDictionary<string, long> ByKind,
    IReadOnlyDictionary<string, long> RejectedByReason);

/// <summary>One attempt at a task whose reject was retried (<c>--retry-rejects</c>).</summary>
/// <param name="Number">1 for the first attempt.</param>
/// <param name="Outcome"><see cref="Accepted"/> or <see cref="Rejected"/>.</param>
/// <param name="Reason">The reject reason, for a rejected attempt.</param>
public sealed record SampleAttempt(int Number, string Outcome, string? Reason, DateTimeOffset At)
{
    public const string Accepted = "accepted";
    public const string Rejected = "rejected";
}

/// <summary>The contents of <c>manifest.json</c>.</summary>
public sealed record DatasetManifest
{
    public int SchemaVersion { get; init; } = DatasetSchema.Version;
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>The generation config snapshot the writer was given, with secret-looking keys scrubbed.</summary>
    public JsonObject? Config { get; init; }

    public IReadOnlyList<ShardEntry> Shards { get; init; } = [];
    public IReadOnlyList<ShardEntry> Rejects { get; init; } = [];

    /// <summary>
    /// Attempt history of the tasks whose reject was retried, by sample id (null when none was). The dataset itself holds only
    /// each task's latest outcome: one accepted row or one reject.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<SampleAttempt>>? Attempts { get; init; }

    /// <summary>Always computed from <see cref="Shards"/> and <see cref="Rejects"/>.</summary>
    public DatasetCounts Counts => new(
        Shards.Sum(s => s.Rows),
        Rejects.Sum(s => s.Rows),
        Sum(Shards.Select(s => s.ByKind)),
        Sum(Rejects.Select(s => s.ByReason ?? new Dictionary<string, long>())));

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Reads <c>manifest.json</c> in <paramref name="datasetDir"/>; a missing or unreadable file is a <see cref="DistillException"/>.</summary>
    public static DatasetManifest Load(string datasetDir)
    {
        string path = Path.Combine(datasetDir, DatasetSchema.ManifestFile);
        if (!File.Exists(path))
            throw new DistillException(
                Directory.Exists(datasetDir)
                    ? $"Dataset manifest '{path}' does not exist."
                    : $"Dataset folder '{datasetDir}' does not exist (no '{path}').",
                "Point at a folder written by `distill generate` (it holds manifest.json, shards/ and rejects/).");
        return Parse(path, File.ReadAllText(path));
    }

    internal static DatasetManifest? TryLoad(string datasetDir) =>
        File.Exists(Path.Combine(datasetDir, DatasetSchema.ManifestFile)) ? Load(datasetDir) : null;

    internal static DatasetManifest Parse(string path, string text)
    {
        DatasetManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<DatasetManifest>(text, Json);
        }
        catch (JsonException e)
        {
            throw new DistillException($"Dataset manifest '{path}' is not valid JSON: {e.Message}",
                "Restore manifest.json from a backup, or re-run the generator to rebuild the dataset.", e);
        }
        if (manifest is null || manifest.Shards is null || manifest.Rejects is null)
            throw new DistillException($"Dataset manifest '{path}' is empty or lacks the 'shards' / 'rejects' lists.",
                "Restore manifest.json from a backup, or re-run the generator to rebuild the dataset.");
        if (manifest.SchemaVersion is < DatasetSchema.OldestReadableVersion or > DatasetSchema.Version)
            throw new DistillException(
                $"Dataset manifest '{path}' has schema version {manifest.SchemaVersion}; this Distill reads versions " +
                $"{DatasetSchema.OldestReadableVersion} to {DatasetSchema.Version}.",
                "Use the Distill version that wrote the dataset, or regenerate it.");
        foreach (var s in manifest.Shards.Concat(manifest.Rejects))
            if (string.IsNullOrEmpty(s.File) || Path.IsPathRooted(s.File) || s.File.Split('/').Contains(".."))
                throw new DistillException($"Dataset manifest '{path}' lists an invalid shard path '{s.File}'.",
                    "Shard paths must be relative to the dataset folder, e.g. shards/part-00000.parquet.");
        return manifest;
    }

    internal string ToJson() => JsonSerializer.Serialize(this, Json);

    private static IReadOnlyDictionary<string, long> Sum(IEnumerable<IReadOnlyDictionary<string, long>> parts)
    {
        var total = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var part in parts)
            foreach (var (k, v) in part)
                total[k] = total.GetValueOrDefault(k) + v;
        return total;
    }
}

/// <summary>Defense in depth for config snapshots: the caller promises no secrets, and this removes what looks like one anyway.</summary>
public static class ConfigScrubber
{
    public const string Redacted = "[redacted]";

    /// <summary>
    /// True for keys whose name contains "key", "secret", "password" or "token" (case-insensitive), except the plural
    /// "tokens" (max_tokens, prompt_tokens) and "tokenizer" (tokenizer ids are not secrets).
    /// </summary>
    public static bool IsSecretName(string key)
    {
        string k = key.ToLowerInvariant();
        if (k.Contains("key") || k.Contains("secret") || k.Contains("password") || k.Contains("passwd"))
            return true;
        string rest = k.Replace("tokens", "", StringComparison.Ordinal).Replace("tokenizer", "", StringComparison.Ordinal);
        return rest.Contains("token");
    }

    /// <summary>A deep copy of <paramref name="config"/> with every secret-looking key's value replaced by <see cref="Redacted"/>.</summary>
    public static JsonObject Scrub(JsonObject config) => (JsonObject)ScrubNode(config)!;

    private static JsonNode? ScrubNode(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.Select(p => new KeyValuePair<string, JsonNode?>(
            p.Key, IsSecretName(p.Key) && p.Value is not null ? JsonValue.Create(Redacted) : ScrubNode(p.Value)))),
        JsonArray a => new JsonArray(a.Select(ScrubNode).ToArray()),
        null => null,
        _ => node.DeepClone(),
    };
}
