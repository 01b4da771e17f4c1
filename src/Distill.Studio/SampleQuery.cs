using Distill.Data.Curation;

namespace Distill.Studio;

/// <summary>A sample in the list with the curator's latest decision on it.</summary>
public sealed record ListedSample(SampleSummary Sample, string? Decision, string? DecisionReason, int Revision);

/// <summary>A value of a filterable field and how many samples have it.</summary>
public sealed record FacetValue(string Value, int Count);

/// <summary>One page of matching samples, the total that matched, and the values each filter can take (over all samples).</summary>
public sealed record SamplePage(int Total, int Page, int PageSize, IReadOnlyList<ListedSample> Items,
    IReadOnlyDictionary<string, IReadOnlyList<FacetValue>> Facets);

/// <summary>Filtering and paging of the sample list: a pure function of the rows, the decisions and the filter.</summary>
public static class SampleQuery
{
    /// <summary>The fields a filter can name, and how each reads a sample.</summary>
    private static readonly (string Name, Func<SampleSummary, CuratedEntry?, string?> Value, Func<SampleFilter, string?> Wanted)[] Fields =
    [
        ("source", (s, _) => s.Source, f => f.Source),
        ("template", (s, _) => s.TemplateId, f => f.Template),
        ("version", (s, _) => s.TemplateVersion, f => f.Version),
        ("recipe", (s, _) => s.Recipe, f => f.Recipe),
        ("teacher", (s, _) => s.Teacher, f => f.Teacher),
        ("kind", (s, _) => s.Kind, f => f.Kind),
        ("tier", (s, _) => s.Tier, f => f.Tier),
        ("verified", (s, _) => s.Verified switch { true => "true", false => "false", null => null }, f => f.Verified),
        ("reason", (s, _) => s.RejectReason, f => f.Reason),
        ("decision", (_, c) => c is null ? null : DecisionName(c.Decision.Action), f => f.Decision),
    ];

    public static string DecisionName(CurationAction action) => action.ToString().ToLowerInvariant();

    public static SamplePage Run(IReadOnlyList<SampleSummary> rows, CurationState curation, SampleFilter filter)
    {
        var pageSize = Math.Clamp(filter.PageSize, 1, SampleFilter.MaxPageSize);
        var page = Math.Clamp(filter.Page, 0, int.MaxValue / pageSize - 1);
        var terms = (filter.Text ?? "").ToLowerInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var wanted = Fields.Where(f => !string.IsNullOrEmpty(f.Wanted(filter))).ToArray();

        var matching = new List<ListedSample>();
        var facets = Fields.ToDictionary(f => f.Name, _ => new Dictionary<string, int>(StringComparer.Ordinal));
        foreach (var row in rows)
        {
            var entry = curation.Find(row.Id);
            foreach (var field in Fields)
            {
                var counts = facets[field.Name];
                var value = field.Value(row, entry) ?? SampleFilter.None;
                counts[value] = counts.GetValueOrDefault(value) + 1;
            }
            if (!wanted.All(f => (f.Value(row, entry) ?? SampleFilter.None) == f.Wanted(filter))) continue;
            if (!terms.All(t => row.SearchText.Contains(t, StringComparison.Ordinal))) continue;
            matching.Add(new ListedSample(row, entry is null ? null : DecisionName(entry.Decision.Action), entry?.Decision.Reason, entry?.Revision ?? 0));
        }
        var items = matching.Skip(page * pageSize).Take(pageSize).ToList();
        return new SamplePage(matching.Count, page, pageSize, items, facets.ToDictionary(
            f => f.Key,
            f => (IReadOnlyList<FacetValue>)f.Value.OrderByDescending(v => v.Value).ThenBy(v => v.Key, StringComparer.Ordinal)
                .Select(v => new FacetValue(v.Key, v.Value)).ToList()));
    }
}
