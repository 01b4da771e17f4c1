namespace Distill.Evaluation.Statistics;

/// <summary>A closed interval of a rate, both ends in [0, 1].</summary>
public sealed record Interval(double Low, double High);
