using Distill.Core.Errors;

namespace Distill.Teachers;

/// <summary>
/// A teacher call failed. Messages are one line and never contain the API key. <see cref="RejectReason"/> is what a generation
/// runner writes to <c>rejects/</c>; <see cref="IsFatal"/> means no later call can succeed either (bad key, wrong deployment), so stop the run.
/// </summary>
public abstract class TeacherException : DistillException
{
    protected TeacherException(string teacher, string message, string? hint, Exception? inner = null) : base(message, hint, inner) =>
        Teacher = teacher;

    public string Teacher { get; }
    public abstract string RejectReason { get; }
    public virtual bool IsRetryable => false;
    public virtual bool IsFatal => false;
    /// <summary>HTTP status, or null when none came back.</summary>
    public int? StatusCode { get; init; }
}

/// <summary>The server refused the request (400/401/403/404/...): retrying would not help.</summary>
public sealed class TeacherRequestException : TeacherException
{
    public TeacherRequestException(string teacher, string message, string? hint, int status, string? errorCode = null,
        string? errorType = null, string? errorParam = null)
        : base(teacher, message, hint)
    {
        StatusCode = status;
        ErrorCode = errorCode;
        ErrorType = errorType;
        ErrorParam = errorParam;
        Kind = TeacherErrorKinds.Classify(status, errorType, errorCode, errorParam, message);
    }

    /// <summary>The server's <c>error.code</c>, e.g. "content_filter", "context_length_exceeded".</summary>
    public string? ErrorCode { get; }

    /// <summary>The server's <c>error.type</c>, e.g. "invalid_request_error".</summary>
    public string? ErrorType { get; }

    /// <summary>The server's <c>error.param</c>: the request field it objects to, e.g. "logprobs".</summary>
    public string? ErrorParam { get; }

    /// <summary>What the error is about, as far as the status, type, code, param and message tell.</summary>
    public TeacherErrorKind Kind { get; }

    /// <summary>
    /// The identity of the error for "the same error again": status, type, code and param; when the server sent none of
    /// those, the message with its numbers blanked (they vary per request: token counts, request ids).
    /// </summary>
    public string Signature => ErrorType is null && ErrorCode is null && ErrorParam is null
        ? $"{StatusCode}|{System.Text.RegularExpressions.Regex.Replace(Message, "[0-9]+", "#")}"
        : $"{StatusCode}|{ErrorType}|{ErrorCode}|{ErrorParam}";

    public override string RejectReason => ErrorCode == "content_filter" ? TeacherRejectReasons.ContentFilter : TeacherRejectReasons.RequestRejected;

    /// <summary>401/403/404: credentials, permissions or the deployment are wrong for every request.</summary>
    public override bool IsFatal => StatusCode is 401 or 403 or 404;
}

/// <summary>
/// A budget (the run's <c>--budget-usd</c>, or a teacher's own <c>BudgetUsd</c>) cannot cover this request's worst-case cost
/// (see <see cref="BudgetLedger"/>): it was not sent. The sample is left uncommitted, so a run with a larger budget generates it.
/// </summary>
public sealed class BudgetExhaustedException : TeacherException
{
    public const string Reason = "budget_reached";

    /// <param name="raise">The setting that holds the budget, for the fix: <c>--budget-usd</c> or a teacher's <c>BudgetUsd</c>.</param>
    public BudgetExhaustedException(string teacher, double limitUsd, double worstCaseUsd, string raise = "--budget-usd")
        : base(teacher, $"The budget of {limitUsd.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture)} USD cannot cover another request to teacher '{teacher}' (worst case {worstCaseUsd.ToString("0.######", System.Globalization.CultureInfo.InvariantCulture)} USD).",
            $"raise {raise} and run again to continue")
    {
    }

    public override string RejectReason => Reason;
}

/// <summary>A transient failure (429, 5xx, timeout, dropped connection); the pipeline retries these.</summary>
public sealed class TeacherTransientException : TeacherException
{
    public TeacherTransientException(string teacher, string message, int? status, TimeSpan? retryAfter, Exception? inner = null)
        : base(teacher, message, "the teacher is overloaded or unreachable; lower Rpm/MaxConcurrency or check the endpoint", inner)
    { StatusCode = status; RetryAfter = retryAfter; }

    /// <summary>The delay the server asked for (Retry-After / retry-after-ms), if any.</summary>
    public TimeSpan? RetryAfter { get; }
    public override string RejectReason => TeacherRejectReasons.Unavailable;
    public override bool IsRetryable => true;
}

/// <summary>The server answered 200 with a body that is not a valid chat completion.</summary>
public sealed class TeacherMalformedResponseException : TeacherException
{
    public TeacherMalformedResponseException(string teacher, string detail, Exception? inner = null)
        : base(teacher, $"Teacher '{teacher}' returned a malformed response: {detail}", "the sample is rejected as malformed_response; if it keeps happening, check the server", inner) { }

    public override string RejectReason => TeacherRejectReasons.MalformedResponse;
}

/// <summary>The teacher (and its fallback, if any) is down: retries exhausted, circuit open, or the total timeout passed.</summary>
public sealed class TeacherUnavailableException : TeacherException
{
    public TeacherUnavailableException(string teacher, string message, Exception? inner = null)
        : base(teacher, message, "the teacher is down or overloaded; the run can resume later, or configure FallbackTeacher", inner) =>
        StatusCode = (inner as TeacherException)?.StatusCode;

    public override string RejectReason => TeacherRejectReasons.Unavailable;
    public override bool IsRetryable => true;
}
