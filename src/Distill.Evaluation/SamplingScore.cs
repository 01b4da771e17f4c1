namespace Distill.Evaluation;

/// <summary>pass@k of one model from <see cref="Samples"/> sampled attempts per task at <see cref="Temperature"/>.</summary>
/// <param name="PassAtK">k to the mean unbiased pass@k over the tasks with at least k sampled attempts (k = 1 and k = samples).</param>
public sealed record SamplingScore(int Samples, double Temperature, IReadOnlyDictionary<int, double> PassAtK, int Tasks);
