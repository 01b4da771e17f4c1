using Distill.Data.Curation;

namespace Distill.Studio;

/// <summary>A sample in the list with the curator's latest decision on it.</summary>
public sealed record ListedSample(SampleSummary Sample, string? Decision, string? DecisionReason, int Revision);

/// <summary>A value of a filterable field and how many samples have it.</summary>
public sealed record FacetValue(string Value, int Count);

/// <summary>How far the studio has read a dataset that it is still reading: the page, totals and facets cover <see cref="Read"/> rows.</summary>
public sealed record ReadProgress(long Read, long Expected);

/// <summary>
/// One page of matching samples, the total that matched, and the values each filter can take (over all samples); with
/// <see cref="Reading"/> set, over the samples read so far.
/// </summary>
public sealed record SamplePage(int Total, int Page, int PageSize, IReadOnlyList<ListedSample> Items,
    IReadOnlyDictionary<string, IReadOnlyList<FacetValue>> Facets)
{
    public ReadProgress? Reading { get; init; }
}

/// <summary>Filtering and paging of the sample list: a function of the list (its rows and their text), the decisions and the filter.</summary>
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

    /// <summary>The page of <paramref name="summaries"/> that <paramref name="filter"/> asks for, with every field's facets.</summary>
    public static SamplePage Run(DatasetSummaries summaries, CurationState curation, SampleFilter filter)
    {
        var rows = summaries.Rows;
        var pageSize = Math.Clamp(filter.PageSize, 1, SampleFilter.MaxPageSize);
        var page = Math.Clamp(filter.Page, 0, int.MaxValue / pageSize - 1);
        var terms = (filter.Text ?? "").ToLowerInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var wanted = Fields.Where(f => !string.IsNullOrEmpty(f.Wanted(filter))).ToArray();
        var textMatches = terms.Length == 0 ? null : summaries.Texts.Matching(terms);

        var from = page * pageSize;
        var total = 0;
        var items = new List<ListedSample>();
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
            if (textMatches is not null && !textMatches[row.Row]) continue;
            // Only the rows of the page shown become list items, with their preview read from the text file.
            if (total >= from && items.Count < pageSize)
                items.Add(new ListedSample(row with { Preview = summaries.Texts.Preview(row.Row) },
                    entry is null ? null : DecisionName(entry.Decision.Action), entry?.Decision.Reason, entry?.Revision ?? 0));
            total++;
        }
        return new SamplePage(total, page, pageSize, items, facets.ToDictionary(
            f => f.Key,
            f => (IReadOnlyList<FacetValue>)f.Value.OrderByDescending(v => v.Value).ThenBy(v => v.Key, StringComparer.Ordinal)
                .Select(v => new FacetValue(v.Key, v.Value)).ToList()))
        {
            Reading = summaries.Complete ? null : new ReadProgress(rows.Count, summaries.Expected),
        };
    }
}
