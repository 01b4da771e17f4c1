namespace Distill.Data.Curation;

/// <summary>The decision that counts for a sample, and how many decisions the sample has had (its revision).</summary>
public sealed record CuratedEntry(CurationDecision Decision, int Revision);

/// <summary>The latest decision per sample id, as read from a curation file (later lines win).</summary>
public sealed class CurationState
{
    private readonly Dictionary<string, CuratedEntry> _latest;

    private CurationState(Dictionary<string, CuratedEntry> latest, int decisions)
    {
        _latest = latest;
        Decisions = decisions;
    }

    public static CurationState Empty { get; } = new([], 0);

    /// <summary>Decisions in the file, superseded ones included.</summary>
    public int Decisions { get; }

    /// <summary>Sample id to the decision that counts.</summary>
    public IReadOnlyDictionary<string, CuratedEntry> Latest => _latest;

    public CuratedEntry? Find(string sampleId) => _latest.GetValueOrDefault(sampleId);

    /// <summary>Decisions made on this sample so far (0: never decided); a writer that expects another number lost a race.</summary>
    public int RevisionOf(string sampleId) => Find(sampleId)?.Revision ?? 0;

    /// <summary>Decisions in file order: the last one per sample id counts.</summary>
    public static CurationState FromDecisions(IEnumerable<CurationDecision> decisions)
    {
        var latest = new Dictionary<string, CuratedEntry>(StringComparer.Ordinal);
        var count = 0;
        foreach (var d in decisions)
        {
            count++;
            latest[d.SampleId] = new CuratedEntry(d, (latest.GetValueOrDefault(d.SampleId)?.Revision ?? 0) + 1);
        }
        return new CurationState(latest, count);
    }
}
