using System.Text.Json.Serialization;
using Distill.Core.Samples;

namespace Distill.Studio;

/// <summary>
/// One row of the sample list: what the filters look at, and where the full sample is read from. The values many rows share
/// (dataset, source, kind, tier, template and version, recipe, teacher, verification, reject reason, file) live in one shared
/// <see cref="SampleFacets"/> per combination, so a row holds only its id, its numbers and two references: at a million rows
/// the list is about half the memory it was with a reference per field and row.
/// </summary>
public sealed record SampleSummary
{
    public const string Accepted = "accepted";
    public const string Rejected = "rejected";

    /// <summary>The values this row shares with others like it, set by <see cref="From"/> (not <c>required</c>: System.Text.Json
    /// refuses a required property that it is told to ignore).</summary>
    [JsonIgnore] public SampleFacets Facets { get; init; } = null!;

    public string Dataset => Facets.Dataset;
    public required string Id { get; init; }

    /// <summary><see cref="Accepted"/> (a shard) or <see cref="Rejected"/> (a reject shard).</summary>
    public string Source => Facets.Source;

    public string Kind => Facets.Kind;

    /// <summary>The seed task's tier, where the task source can be loaded again (see <see cref="TaskTiers"/>).</summary>
    public string? Tier => Facets.Tier;
    public string? TemplateId => Facets.TemplateId;
    public string? TemplateVersion => Facets.TemplateVersion;
    public string? Recipe => Facets.Recipe;

    /// <summary><c>provider/model</c>.</summary>
    public string? Teacher => Facets.Teacher;

    public bool? Verified => Facets.Verified;
    public string? RejectReason => Facets.RejectReason;

    /// <summary>The first user turn, shortened; filled in for the rows of the page shown (the list keeps it on disk, <see cref="SampleTexts"/>).</summary>
    public string Preview { get; init; } = "";

    public int Turns { get; init; }
    public int ToolCalls { get; init; }
    public double CostUsd { get; init; }

    /// <summary>The Parquet file the sample is in.</summary>
    [JsonIgnore] public string File => Facets.File;

    /// <summary>The sample's row in the dataset's <see cref="SampleTexts"/> (its preview and search text).</summary>
    [JsonIgnore] public int Row { get; init; }

    /// <summary>
    /// The summary of one sample. <paramref name="pool"/> shares one <see cref="SampleFacets"/> per combination of repeated
    /// values (a dataset has a few hundred: its files times its templates, tiers and outcomes).
    /// </summary>
    public static SampleSummary From(string dataset, string file, Sample s, string? rejectReason, string? tier, int row, FacetPool pool) =>
        new()
        {
            Facets = pool.Get(new SampleFacets(dataset, rejectReason is null ? Accepted : Rejected, s.Kind, tier, s.TemplateId,
                s.TemplateVersion, s.Recipe, s.Teacher is null ? null : $"{s.Teacher.Provider}/{s.Teacher.Model}", s.Verified,
                rejectReason, file)),
            Id = s.Id,
            Turns = s.Messages.Count,
            ToolCalls = s.Messages.Sum(m => m.ToolCalls.Count),
            CostUsd = s.CostUsd,
            Row = row,
        };
}

/// <summary>The values of a <see cref="SampleSummary"/> that many rows share.</summary>
public sealed record SampleFacets(string Dataset, string Source, string Kind, string? Tier, string? TemplateId, string? TemplateVersion,
    string? Recipe, string? Teacher, bool? Verified, string? RejectReason, string File);
