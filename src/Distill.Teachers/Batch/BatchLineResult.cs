namespace Distill.Teachers.Batch;

/// <summary>What one line of a batch's output or error file says about one request.</summary>
/// <param name="Status">The request's HTTP status, when the provider sent one (200 for a completion).</param>
/// <param name="Body">The response body: a chat completion when <paramref name="Status"/> is 200, else the error body.</param>
/// <param name="ErrorCode">The error code (<c>batch_expired</c>, <c>server_error</c>, <c>content_filter</c>, ...) when it did not succeed.</param>
public sealed record BatchLineResult(string CustomId, int? Status, BinaryData? Body, string? ErrorCode, string? ErrorMessage)
{
    /// <summary>The error code of a request the batch did not reach before its 24 h window closed (or before it was cancelled).</summary>
    public const string Expired = "batch_expired";

    public bool Succeeded => Status == 200 && Body is not null;

    /// <summary>Worth submitting again: expired, throttled, server-side failures, or no status at all.</summary>
    public bool IsRetryable => !Succeeded && (ErrorCode == Expired || Status is null or 408 or 429 or >= 500);
}
