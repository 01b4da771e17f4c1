using Distill.Training.Config;
using Distill.Training.Losses;

namespace Distill.Training.Objectives;

/// <summary>The divergence a KD objective minimizes, read from <c>loss.divergence</c> (with its beta / skew).</summary>
internal static class ObjectiveDivergence
{
    internal static Divergence Parse(LossConfig loss) => loss.ToDivergence();
}
