using System.Globalization;
using Distill.Core.Errors;
using Distill.Core.Samples;
using Distill.Training.Schedules;

namespace Distill.Training.Data;

/// <summary>
/// How one turn's stored top-k logprobs are brought to the temperature logit KD compares the student at.
/// <para>Logprobs of a distribution at temperature T1 are log p_i = z_i / T1 - log Z. At temperature T2 the same logits give
/// p'_i proportional to exp(z_i / T2) = exp((log p_i + log Z) T1 / T2), so over the kept top-k ids p' is
/// softmax(log p * T1 / T2): exact up to the tail, which the top-k does not describe, so the rescaled top-k sums to 1 (Axolotl
/// does the same). When T1 = T2 the stored values are used as they are, tail mass included.</para>
/// <para>Refused (a reason, never a guess): logprobs whose temperature is unknown, temperature 0, and distributions cut to a
/// top-p nucleus (which tokens are in the nucleus depends on the temperature, so the cut distribution cannot be re-tempered).</para>
/// </summary>
/// <param name="Factor">T1 / T2: the stored logprobs are multiplied by it and renormalized over the kept ids; 1 keeps them as stored.</param>
/// <param name="Refusal">Why the turn's logprobs cannot be brought to T2; null when they can.</param>
public readonly record struct StoredLogprobRescale(double Factor, string? Refusal)
{
    /// <summary>Temperatures this close are the same (stored settings go through float in requests).</summary>
    public const double Tolerance = 1e-6;

    public static readonly StoredLogprobRescale AsStored = new(1.0, null);

    /// <summary>True when the stored values are used as they are.</summary>
    public bool KeepsStoredValues => Refusal is null && Factor == 1.0;

    /// <summary>The rescale from the logprobs described by <paramref name="provenance"/> to <paramref name="temperature"/>.</summary>
    /// <param name="provenance">The turn's recorded provenance; null for a dataset that did not record it (treated as the
    /// teacher's temperature 1 distribution, as Distill always read them, but never rescaled on that assumption).</param>
    /// <param name="temperature">The KD temperature T2 &gt; 0.</param>
    public static StoredLogprobRescale For(LogprobProvenance? provenance, double temperature)
    {
        if (!(temperature > 0) || !double.IsFinite(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "the KD temperature must be > 0");
        if (provenance is null)
            return Same(temperature, 1.0) ? AsStored
                : Refuse($"the dataset does not record the temperature its logprobs describe, so they cannot be rescaled to loss temperature {Number(temperature)}");
        if (provenance.DistributionTemperature is not { } stored)
            return Refuse($"the logprobs were sampled at temperature {Number(provenance.Temperature ?? 1)} from a teacher that did not say whether " +
                "they are raw or processed, so the temperature they describe is unknown");
        if (Same(stored, temperature)) return AsStored;
        if (stored <= 0)
            return Refuse("the logprobs were taken after sampling at temperature 0 (greedy), which describes no distribution to rescale");
        return provenance.TopPTruncated switch
        {
            true => Refuse($"the logprobs describe a distribution cut to top-p {Number(provenance.TopP ?? 1)}; which tokens are in the nucleus depends on the temperature, so it cannot be rescaled from {Number(stored)} to {Number(temperature)}"),
            null => Refuse($"the logprobs were sampled with top-p {Number(provenance.TopP ?? 1)} from a teacher that did not say whether they are cut to it, so they cannot be rescaled from {Number(stored)} to {Number(temperature)}"),
            false => new StoredLogprobRescale(stored / temperature, null),
        };
    }

    /// <summary>
    /// In place: <paramref name="logprobs"/> (one position's kept top-k, natural log) times <paramref name="factor"/>, renormalized
    /// so their probabilities sum to 1. -inf entries stay -inf; an empty span or all -inf is left as it is.
    /// </summary>
    public static void Apply(Span<float> logprobs, double factor)
    {
        if (logprobs.IsEmpty) return;
        var max = double.NegativeInfinity;
        foreach (var x in logprobs) max = Math.Max(max, x * factor);
        if (double.IsNegativeInfinity(max) || double.IsNaN(max)) return;
        var sum = 0.0;
        foreach (var x in logprobs) sum += Math.Exp(x * factor - max);
        var logZ = max + Math.Log(sum);
        for (var i = 0; i < logprobs.Length; i++) logprobs[i] = (float)(logprobs[i] * factor - logZ);
    }

    /// <summary>
    /// The one temperature stored logprobs are brought to: the loss temperature, which must stay the same over the run because
    /// the data is encoded once.
    /// </summary>
    /// <exception cref="DistillException">The schedule changes the temperature during the run.</exception>
    public static double KdTemperature(Schedule temperature) =>
        temperature.Kind == ScheduleKind.Constant || Same(temperature.Start, temperature.End)
            ? temperature.Start
            : throw new DistillException(
                $"loss topk_kd brings the stored logprobs to the loss temperature once, when the data is encoded, but loss.temperature goes from {Number(temperature.Start)} to {Number(temperature.End)}",
                "use a constant loss.temperature with stored logprobs (1 uses the teacher's distribution as generated)");

    /// <summary>The error for a turn whose logprobs cannot be brought to <paramref name="temperature"/>.</summary>
    public DistillException ToException(string sampleId, double temperature) => new(
        $"sample '{sampleId}': {Refusal}",
        Same(temperature, 1.0)
            ? "use loss \"sft\" for this data, or regenerate it at temperature 1 (or with a teacher that reports raw logprobs: Distill's `serve` does; for vLLM set the teacher's RawLogprobs to true)"
            : $"set loss.temperature to the temperature the logprobs describe (`distill dataset stats` shows it), or regenerate the data at temperature {Number(temperature)} without top-p");

    private static bool Same(double a, double b) => Math.Abs(a - b) <= Tolerance;

    private static StoredLogprobRescale Refuse(string reason) => new(1.0, reason);

    private static string Number(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}
