using System.Text;
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

    /// <summary>The first user turn, shortened.</summary>
    public required string Preview { get; init; }

    public int Turns { get; init; }
    public int ToolCalls { get; init; }
    public bool HasLogprobs { get; init; }
    public double CostUsd { get; init; }

    /// <summary>The Parquet file the sample is in.</summary>
    [JsonIgnore] public string File { get; init; } = "";

    /// <summary>All the sample's text, lower-cased, for full-text search.</summary>
    [JsonIgnore] public string SearchText { get; init; } = "";

    public const int PreviewLength = 160;

    public static SampleSummary From(string dataset, string file, Sample s, string? rejectReason, string? tier = null)
    {
        var text = new StringBuilder().Append(s.Id).Append('\n').Append(s.SeedInput).Append('\n').Append(rejectReason).Append('\n');
        foreach (var m in s.Messages)
        {
            text.Append(m.Content).Append('\n').Append(m.Reasoning).Append('\n');
            foreach (var c in m.ToolCalls) text.Append(c.Name).Append(' ').Append(c.Arguments).Append('\n');
        }
        text.Append(s.Answer).Append('\n').Append(s.Rationale);
        var preview = s.Messages.FirstOrDefault(m => m.Role == ChatRoles.User)?.Content ?? s.SeedInput ?? "";
        return new SampleSummary
        {
            Dataset = dataset,
            Id = s.Id,
            Source = rejectReason is null ? Accepted : Rejected,
            Kind = s.Kind,
            Tier = tier,
            TemplateId = s.TemplateId,
            TemplateVersion = s.TemplateVersion,
            Recipe = s.Recipe,
            Teacher = s.Teacher is null ? null : $"{s.Teacher.Provider}/{s.Teacher.Model}",
            Verified = s.Verified,
            RejectReason = rejectReason,
            Preview = preview.Length <= PreviewLength ? preview : preview[..PreviewLength] + "…",
            Turns = s.Messages.Count,
            ToolCalls = s.Messages.Sum(m => m.ToolCalls.Count),
            HasLogprobs = s.Messages.Any(m => m.Logprobs.Count > 0),
            CostUsd = s.CostUsd,
            File = file,
            SearchText = text.ToString().ToLowerInvariant(),
        };
    }
}
