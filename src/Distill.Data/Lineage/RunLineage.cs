using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Distill.Core.Errors;
using Distill.Core.Samples;
using Distill.Data.Curation;

namespace Distill.Data.Lineage;

/// <summary>One Parquet file a run read, as committed when the run started.</summary>
public sealed record LineageShard(string File, string Sha256, long Rows);

/// <summary>One dataset a run trained on: its committed shards and how many of its samples the run used.</summary>
/// <param name="Path">The dataset folder (or loose .parquet file), as a full path.</param>
public sealed record LineageDataset(string Path, IReadOnlyList<LineageShard> Shards, long SamplesUsed)
{
    /// <summary>The curation file the run applied (<c>data.curated</c>); null when it read the shards as they are.</summary>
    public LineageCuration? Curation { get; init; }
}

/// <summary>A dataset's <c>curation.jsonl</c> as a run read it: decisions in it and the sha256 of its bytes (no file: no decisions, null hash).</summary>
public sealed record LineageCuration(string File, string? Sha256, int Decisions);

/// <summary>A template version and how many of a run's samples it produced.</summary>
public sealed record LineageTemplate(string Id, string Version, long Samples)
{
    /// <summary>The <c>id@version</c> people type (<c>distill templates diff</c>).</summary>
    [JsonIgnore]
    public string Key => $"{Id}@{Version}";
}

/// <summary>
/// What a training run's examples came from: datasets, their shards (sha256) and the template versions of the samples used,
/// written as <c>lineage.json</c> in the run folder. A run that starts from another run's model (LoRA on a distilled student)
/// nests that run's lineage as <see cref="Base"/>, so "which template versions made this student" is answered from files.
/// </summary>
public sealed record RunLineage
{
    public const string FileName = "lineage.json";

    /// <summary>The LoRA stage writes its servable model into this subfolder of its run folder.</summary>
    public const string MergedFolder = "merged";

    public required IReadOnlyList<LineageDataset> Datasets { get; init; }

    /// <summary>Template versions of the samples used, most samples first; samples without template lineage are not listed.</summary>
    public required IReadOnlyList<LineageTemplate> Templates { get; init; }

    /// <summary>The model folder the run started from, when it did not start from random weights.</summary>
    public string? BaseModel { get; init; }

    /// <summary>The lineage of <see cref="BaseModel"/> when that folder is itself a run with one.</summary>
    public RunLineage? Base { get; init; }

    /// <summary>Template versions of this run and every run below it, samples summed per version.</summary>
    [JsonIgnore]
    public IReadOnlyList<LineageTemplate> AllTemplates => Merge(Templates.Concat(Base?.AllTemplates ?? []));

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Counts samples per dataset and template version (pure: the caller supplies the shards of each dataset).</summary>
    /// <param name="used">Every sample the run used, with the dataset it came from.</param>
    /// <param name="shardsOf">The committed shards of a dataset path.</param>
    public static RunLineage FromSamples(IEnumerable<(string Dataset, Sample Sample)> used, Func<string, IReadOnlyList<LineageShard>> shardsOf)
    {
        var perDataset = new Dictionary<string, long>(StringComparer.Ordinal);
        var order = new List<string>();
        var perTemplate = new List<LineageTemplate>();
        foreach (var (dataset, sample) in used)
        {
            if (!perDataset.ContainsKey(dataset)) order.Add(dataset);
            perDataset[dataset] = perDataset.GetValueOrDefault(dataset) + 1;
            if (sample.TemplateId is { } id) perTemplate.Add(new LineageTemplate(id, sample.TemplateVersion ?? "", 1));
        }
        return new RunLineage
        {
            Datasets = order.Select(d => new LineageDataset(d, shardsOf(d), perDataset[d])).ToList(),
            Templates = Merge(perTemplate),
        };
    }

    /// <summary>
    /// Reads the datasets the way training does (<paramref name="maxSamples"/> per dataset, unverified samples left out when
    /// <paramref name="verifiedOnly"/>, each folder's curated view when <paramref name="curated"/>) and records what was used.
    /// </summary>
    public static async Task<RunLineage> CollectAsync(IReadOnlyList<string> datasets, int maxSamples, bool verifiedOnly, string? baseModel,
        CancellationToken ct = default, bool curated = false)
    {
        var used = new List<(string, Sample)>();
        foreach (var dataset in datasets)
        {
            var full = System.IO.Path.GetFullPath(dataset);
            var n = 0;
            var source = curated ? CuratedView.ReadAsync(full, ct) : DatasetReader.ReadAnyAsync(full, ct);
            await foreach (var sample in source.ConfigureAwait(false))
            {
                if (verifiedOnly && sample.Verified != true) continue;
                used.Add((full, sample));
                if (maxSamples > 0 && ++n >= maxSamples) break;
            }
        }
        var lineage = FromSamples(used, ShardsOf);
        if (curated) lineage = lineage with { Datasets = lineage.Datasets.Select(d => d with { Curation = CurationOf(d.Path) }).ToList() };
        if (baseModel is null) return lineage;
        return lineage with { BaseModel = System.IO.Path.GetFullPath(baseModel), Base = FindForModel(baseModel) };
    }

    /// <summary>The shards a dataset folder's manifest lists, or the file itself when it is a loose .parquet file.</summary>
    public static IReadOnlyList<LineageShard> ShardsOf(string dataset)
    {
        if (File.Exists(dataset))
        {
            using var stream = File.OpenRead(dataset);
            return [new LineageShard(System.IO.Path.GetFileName(dataset), Convert.ToHexStringLower(SHA256.HashData(stream)), -1)];
        }
        return DatasetManifest.Load(dataset).Shards.Select(s => new LineageShard(s.File, s.Sha256, s.Rows)).ToList();
    }

    /// <summary>The curation file of a dataset folder as it is now.</summary>
    public static LineageCuration CurationOf(string datasetDir)
    {
        var path = CurationLog.PathFor(datasetDir);
        var decisions = CurationLog.Load(datasetDir).Decisions;
        if (!File.Exists(path)) return new LineageCuration(CurationLog.FileName, null, 0);
        using var stream = File.OpenRead(path);
        return new LineageCuration(CurationLog.FileName, Convert.ToHexStringLower(SHA256.HashData(stream)), decisions);
    }

    /// <summary>Writes <c>lineage.json</c> into <paramref name="runDir"/> (temp file + rename: never torn).</summary>
    public void Write(string runDir)
    {
        var path = System.IO.Path.Combine(runDir, FileName);
        var temp = path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(this, Json) + "\n");
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>The lineage in <paramref name="runDir"/>, or null when it has none.</summary>
    public static RunLineage? TryLoad(string runDir)
    {
        var path = System.IO.Path.Combine(runDir, FileName);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<RunLineage>(File.ReadAllText(path), Json)
                ?? throw new JsonException("the file holds null");
        }
        catch (JsonException e)
        {
            throw new DistillException($"'{path}' is not a readable lineage file: {e.Message}",
                "restore it, or delete it (the run then has no lineage) and train again to rewrite it", e);
        }
    }

    /// <summary>
    /// The lineage of a model folder: its own <c>lineage.json</c> (a full-weights run folder), or its run's when the folder is
    /// a LoRA run's <c>merged/</c> model; null for a folder no run of this tool wrote.
    /// </summary>
    public static RunLineage? FindForModel(string modelDir)
    {
        var full = System.IO.Path.GetFullPath(modelDir).TrimEnd(System.IO.Path.DirectorySeparatorChar);
        if (TryLoad(full) is { } own) return own;
        return System.IO.Path.GetFileName(full) == MergedFolder && System.IO.Path.GetDirectoryName(full) is { } run ? TryLoad(run) : null;
    }

    /// <summary>One line for a report: template versions with their sample counts, and the shard count.</summary>
    public string Summary()
    {
        var templates = AllTemplates.Count == 0
            ? "no template lineage"
            : string.Join(", ", AllTemplates.Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Key} ({t.Samples:N0} samples)")));
        var shards = Datasets.Sum(d => d.Shards.Count);
        return string.Create(CultureInfo.InvariantCulture,
            $"{templates}; {Datasets.Count} dataset(s), {shards} shard(s){(Base is not null ? ", base model's run included" : "")} (`{FileName}`)");
    }

    private static IReadOnlyList<LineageTemplate> Merge(IEnumerable<LineageTemplate> parts) =>
        parts.GroupBy(t => (t.Id, t.Version))
            .Select(g => new LineageTemplate(g.Key.Id, g.Key.Version, g.Sum(t => t.Samples)))
            .OrderByDescending(t => t.Samples).ThenBy(t => t.Id, StringComparer.Ordinal).ThenBy(t => t.Version, StringComparer.Ordinal)
            .ToList();
}
