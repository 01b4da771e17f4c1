using Distill.Core.Samples;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Distill.Teachers;

/// <summary>
/// Sends to <paramref name="primary"/>; when it is down (<see cref="TeacherUnavailableException"/>: circuit open, retries
/// exhausted, total timeout) sends the same request to <paramref name="fallback"/>. Request errors (400/401/...) and malformed
/// responses are not failed over: the fallback would get the same request, and a bad key must surface.
/// The response's <see cref="TeacherResponse.TeacherName"/> says which teacher answered.
/// </summary>
public sealed class FallbackTeacher(ITeacher primary, ITeacher fallback, ILogger? logger = null) : ITeacher
{
    private readonly ILogger _logger = logger ?? NullLogger.Instance;

    public string Name => primary.Name;
    public TeacherInfo Info => primary.Info;
    public ITeacher Primary => primary;
    public ITeacher Fallback => fallback;

    public async Task<TeacherResponse> CompleteAsync(TeacherRequest request, CancellationToken cancellationToken = default)
    {
        try
        {
            return await primary.CompleteAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (TeacherUnavailableException e) when (!cancellationToken.IsCancellationRequested)
        {
            _logger.LogWarning("Teacher {Teacher} is down ({Error}); using fallback teacher {Fallback}", primary.Name, e.Message, fallback.Name);
            return await fallback.CompleteAsync(request, cancellationToken).ConfigureAwait(false);
        }
    }
}
