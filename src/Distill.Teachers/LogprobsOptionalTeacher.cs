using Distill.Core.Samples;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Distill.Teachers;

/// <summary>
/// <c>--logprobs-optional</c>: when the teacher refuses logprobs (<see cref="TeacherErrorKind.LogprobsRefused"/>), sends the same
/// request without them and keeps the text; after the first refusal it stops asking. Warns once. <see cref="Refusals"/> says
/// how many requests were refused, so the run can record it in the dataset's manifest.
/// </summary>
public sealed class LogprobsOptionalTeacher(ITeacher inner, ILogger? logger = null) : ITeacher
{
    private readonly ILogger _logger = logger ?? NullLogger.Instance;
    private int _refusals, _withoutLogprobs;

    public string Name => inner.Name;
    public TeacherInfo Info => inner.Info;

    /// <summary>Requests the teacher answered with a logprobs refusal.</summary>
    public int Refusals => Volatile.Read(ref _refusals);

    /// <summary>Requests that asked for logprobs and were answered without them (resent, or sent without after a refusal).</summary>
    public int AnsweredWithoutLogprobs => Volatile.Read(ref _withoutLogprobs);

    public async Task<TeacherResponse> CompleteAsync(TeacherRequest request, CancellationToken cancellationToken = default)
    {
        if (!request.Logprobs) return await inner.CompleteAsync(request, cancellationToken).ConfigureAwait(false);
        var without = request with { Logprobs = false, TopLogprobs = null };
        if (Refusals == 0)
        {
            try
            {
                return await inner.CompleteAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (TeacherRequestException e) when (e.Kind == TeacherErrorKind.LogprobsRefused)
            {
                if (Interlocked.Increment(ref _refusals) == 1)
                    _logger.LogWarning("Teacher {Teacher} refuses logprobs ({Error}); with --logprobs-optional the text is kept without them, and the manifest records the refusal",
                        Name, e.Message);
            }
        }
        var response = await inner.CompleteAsync(without, cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _withoutLogprobs);
        return response;
    }
}
