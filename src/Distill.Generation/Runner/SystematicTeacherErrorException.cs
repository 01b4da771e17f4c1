using Distill.Core.Errors;
using Distill.Teachers;

namespace Distill.Generation.Runner;

/// <summary>
/// Generation stopped because the teacher rejected request after request with the same error: one line naming the teacher,
/// the error and the fix. The failed samples were not committed, so the same command generates them once the cause is fixed.
/// </summary>
public sealed class SystematicTeacherErrorException(TeacherRequestException error, int samples)
    : DistillException(
        $"Generation stopped: {error.Message.TrimEnd('.')} ({samples} sample{(samples == 1 ? "" : "s")} failed this way and {(samples == 1 ? "was" : "were")} not committed)",
        FixFor(error), error)
{
    public TeacherRequestException Error { get; } = error;
    public int Samples { get; } = samples;

    /// <summary>What to do about each kind of systematic error; then rerunning the same command generates the skipped samples.</summary>
    public static string FixFor(TeacherRequestException error) => error.Kind switch
    {
        TeacherErrorKind.LogprobsRefused =>
            $"teacher '{error.Teacher}' does not give logprobs: run without --logprobs (sequence-level KD needs none), or add --logprobs-optional to keep the text and record that logprobs were refused",
        TeacherErrorKind.ContextLength =>
            "the prompt plus max_tokens does not fit the model's context: lower max_tokens or shorten the template, or use a model with a longer context",
        TeacherErrorKind.ModelNotFound =>
            $"check the teacher's Model (the deployment name on Azure) and Endpoint; {error.Hint}",
        TeacherErrorKind.ApiVersion =>
            $"the resource does not accept this api-version: set the teacher's ApiVersion to one it supports; {error.Hint}",
        _ => error.Hint ?? "fix the request parameters",
    } + "; then run the same command again";
}
