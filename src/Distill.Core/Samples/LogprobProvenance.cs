using System.Globalization;

namespace Distill.Core.Samples;

/// <summary>
/// How a message's stored logprobs were produced: the sampling settings of the request and whether the teacher's logprobs
/// describe its own distribution or the one it sampled from. Logit KD needs to know which distribution they describe before it
/// can compare them with a student at its own temperature.
/// </summary>
/// <param name="Temperature">The request's sampling temperature; null when the request left it to the server (the OpenAI default is 1).</param>
/// <param name="TopP">The request's nucleus (top-p) setting; null or 1 when none.</param>
/// <param name="TopK">Alternatives asked for per token (OpenAI's <c>top_logprobs</c>).</param>
/// <param name="Raw">
/// True when the logprobs are the model's own distribution, before temperature and top-p (Distill's <c>serve</c>, vLLM's default
/// <c>raw_logprobs</c>); false when they are taken after them (vLLM's <c>processed_logprobs</c>, llama.cpp's post-sampling
/// probabilities); null when the teacher did not say.
/// </param>
public sealed record LogprobProvenance(double? Temperature, double? TopP, int TopK, bool? Raw)
{
    /// <summary>
    /// The temperature of the distribution the logprobs describe: 1 for raw logprobs, the sampling temperature for processed
    /// ones, and null when that is unknown (sampled at another temperature than 1 by a teacher that did not say which it reports).
    /// </summary>
    public double? DistributionTemperature => Raw switch
    {
        true => 1.0,
        false => Temperature ?? 1.0,
        null => (Temperature ?? 1.0) == 1.0 ? 1.0 : null,
    };

    /// <summary>
    /// Whether the described distribution was cut to a nucleus (top-p below 1) and renormalized there: false for raw logprobs or
    /// no top-p, true for processed ones with top-p, null when unknown.
    /// </summary>
    public bool? TopPTruncated => Raw switch
    {
        true => false,
        _ when TopP is null or >= 1.0 => false,
        false => true,
        null => null,
    };

    /// <summary>One short line for logs and <c>dataset stats</c>, e.g. "temperature 0.7, top-p 0.9, top-20, raw (a temperature 1 distribution)".</summary>
    public string Describe()
    {
        var temperature = Temperature is { } t ? t.ToString("0.###", CultureInfo.InvariantCulture) : "server default";
        var topP = TopP is { } p and < 1.0 ? $", top-p {p.ToString("0.###", CultureInfo.InvariantCulture)}" : "";
        var described = DistributionTemperature is { } d
            ? $"a temperature {d.ToString("0.###", CultureInfo.InvariantCulture)} distribution{(TopPTruncated == true ? " cut to top-p" : "")}"
            : "distribution temperature unknown";
        var kind = Raw switch { true => "raw", false => "processed", null => "raw or processed not reported" };
        return $"temperature {temperature}{topP}, top-{TopK}, {kind} ({described})";
    }
}
