namespace Distill.Studio;

/// <summary>One shared instance of each distinct <see cref="SampleFacets"/> (not thread-safe: one per catalog build).</summary>
public sealed class FacetPool
{
    private readonly Dictionary<SampleFacets, SampleFacets> _facets = [];

    public SampleFacets Get(SampleFacets facets)
    {
        if (_facets.TryGetValue(facets, out var shared)) return shared;
        _facets[facets] = facets;
        return facets;
    }
}
