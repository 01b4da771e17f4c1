using Distill.Core.Samples;
using Distill.Generation.Recipes;

namespace Distill.Evaluation;

/// <summary>One eval row with the task it answered (found by its sample id) and that task's position in the evaluated list.</summary>
public sealed record ScoredRow(Sample Sample, string? Reject, SeedTask Task, int TaskIndex)
{
    public bool Succeeded => Reject is null && Sample.Verified == true;
}
