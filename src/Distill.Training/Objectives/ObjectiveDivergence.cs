using Distill.Core.Errors;
using Distill.Training.Config;
using Distill.Training.Losses;

namespace Distill.Training.Objectives;

/// <summary>The divergence a KD objective minimizes, read from <c>loss.divergence</c> (with its beta / skew).</summary>
internal static class ObjectiveDivergence
{
    internal static Divergence Parse(LossConfig loss) =>
        DivergenceNames.TryParse(loss.Divergence, loss.Beta, loss.Skew, out var divergence)
            ? divergence
            : throw new DistillException($"loss.divergence '{loss.Divergence}' is unknown", $"use one of {string.Join(", ", DivergenceNames.All)}");
}
