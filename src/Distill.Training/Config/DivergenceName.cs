namespace Distill.Training.Config;

/// <summary>The KD divergence as configs name it (<c>loss.divergence</c>); <see cref="LossConfig.ToDivergence"/> adds its parameter.</summary>
public enum DivergenceName
{
    /// <summary>"forward_kl".</summary>
    ForwardKl,

    /// <summary>"reverse_kl".</summary>
    ReverseKl,

    /// <summary>"jsd": generalized JSD with <c>loss.beta</c>.</summary>
    Jsd,

    /// <summary>"skew_kl" with <c>loss.skew</c>.</summary>
    SkewKl,

    /// <summary>"skew_reverse_kl" with <c>loss.skew</c>.</summary>
    SkewReverseKl,
}
