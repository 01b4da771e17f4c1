using Distill.Core.Errors;

namespace Distill.Data.Curation;

/// <summary>Another decision on the same sample was written since the caller read it (two studio tabs, two curators).</summary>
public sealed class CurationConflictException(string sampleId, int expected, int current) : DistillException(
    $"Sample '{sampleId}' was decided elsewhere since it was loaded (revision {current}, expected {expected}).",
    "Reload the sample, look at the newer decision, and decide again.")
{
    public int CurrentRevision { get; } = current;
}
