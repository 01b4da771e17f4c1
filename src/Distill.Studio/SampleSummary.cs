using System.Text.Json.Serialization;
using Distill.Core.Samples;

namespace Distill.Studio;

/// <summary>One row of the sample list: what the filters look at, and where the full sample is read from.</summary>
public sealed record SampleSummary
{
    public const string Accepted = "accepted";
    public const string Rejected = "rejected";

    public required string Dataset { get; init; }
    public required string Id { get; init; }

    /// <summary><see cref="Accepted"/> (a shard) or <see cref="Rejected"/> (a reject shard).</summary>
    public required string Source { get; init; }

    public required string Kind { get; init; }

    /// <summary>The seed task's tier, where the task source can be loaded again (see <see cref="TaskTiers"/>).</summary>
    public string? Tier { get; init; }
    public string? TemplateId { get; init; }
    public string? TemplateVersion { get; init; }
    public string? Recipe { get; init; }

    /// <summary><c>provider/model</c>.</summary>
    public string? Teacher { get; init; }

    public bool? Verified { get; init; }
    public string? RejectReason { get; init; }

    /// <summary>The first user turn, shortened; filled in for the rows of the page shown (the list keeps it on disk, <see cref="SampleTexts"/>).</summary>
    public string Preview { get; init; } = "";

    public int Turns { get; init; }
    public int ToolCalls { get; init; }
    public double CostUsd { get; init; }

    /// <summary>The Parquet file the sample is in.</summary>
    [JsonIgnore] public string File { get; init; } = "";

    /// <summary>The sample's row in the dataset's <see cref="SampleTexts"/> (its preview and search text).</summary>
    [JsonIgnore] public int Row { get; init; }

    /// <summary>
    /// The summary of one sample. <paramref name="strings"/> shares one copy of each repeated value (template, version, recipe,
    /// teacher, kind, tier, reason): with a million rows, a string per row and field was most of the list's memory.
    /// </summary>
    public static SampleSummary From(string dataset, string file, Sample s, string? rejectReason, string? tier, int row, StringPool strings) =>
        new()
        {
            Dataset = dataset,
            Id = s.Id,
            Source = rejectReason is null ? Accepted : Rejected,
            Kind = strings.Get(s.Kind)!,
            Tier = strings.Get(tier),
            TemplateId = strings.Get(s.TemplateId),
            TemplateVersion = strings.Get(s.TemplateVersion),
            Recipe = strings.Get(s.Recipe),
            Teacher = s.Teacher is null ? null : strings.Get($"{s.Teacher.Provider}/{s.Teacher.Model}"),
            Verified = s.Verified,
            RejectReason = strings.Get(rejectReason),
            Turns = s.Messages.Count,
            ToolCalls = s.Messages.Sum(m => m.ToolCalls.Count),
            CostUsd = s.CostUsd,
            File = file,
            Row = row,
        };
}
