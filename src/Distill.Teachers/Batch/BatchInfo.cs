namespace Distill.Teachers.Batch;

/// <summary>A batch as the provider reports it (<c>GET /batches/{id}</c>).</summary>
/// <param name="Status"><c>validating</c>, <c>in_progress</c>, <c>finalizing</c>, <c>completed</c>, <c>failed</c>, <c>expired</c>, <c>cancelling</c> or <c>cancelled</c>.</param>
/// <param name="Error">The batch's own errors (<c>errors.data</c>: why it failed validation), joined; null when none.</param>
public sealed record BatchInfo(string Id, string Status, string? InputFileId, string? OutputFileId, string? ErrorFileId, string? Error)
{
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Expired = "expired";
    public const string Cancelled = "cancelled";

    /// <summary>The states after which nothing changes.</summary>
    public bool IsTerminal => Status is Completed or Failed or Expired or Cancelled;
}
