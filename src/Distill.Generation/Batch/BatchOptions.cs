namespace Distill.Generation.Batch;

/// <summary>Settings of <c>distill generate --batch</c> (the batch price is the teacher's own <c>BatchPriceFactor</c>).</summary>
public sealed record BatchOptions
{
    /// <summary>Requests per uploaded file (OpenAI allows 50,000; Azure OpenAI 100,000).</summary>
    public int MaxRequestsPerFile { get; init; } = 50_000;

    /// <summary>Bytes per uploaded file (both providers allow 200 MB; a little room is left).</summary>
    public long MaxBytesPerFile { get; init; } = 190_000_000;

    /// <summary>First wait between status polls; doubles up to <see cref="PollMaxDelay"/>.</summary>
    public TimeSpan PollDelay { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest wait between status polls.</summary>
    public TimeSpan PollMaxDelay { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// A round is submitted once no new request has arrived for this long: every open conversation has asked its next turn
    /// (recipes render, parse and run tools locally in milliseconds).
    /// </summary>
    public TimeSpan CollectWindow { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Batches a request is submitted in before it is given up (or sent online): failed and expired lines go into later rounds.</summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary>Send requests that failed every batch attempt to the online teacher instead of leaving their samples for a later run.</summary>
    public bool FallbackOnline { get; init; }

    /// <summary>How long a cancelled run waits for the provider to finish cancelling and hand over the partial output.</summary>
    public TimeSpan CancelWait { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Every problem with these settings, as sentences a user can act on; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var p = new List<string>();
        if (MaxRequestsPerFile < 1) p.Add("--batch-max-requests must be at least 1.");
        if (MaxBytesPerFile < 1) p.Add("--batch-max-mb must be at least 1.");
        if (MaxAttempts < 1) p.Add("--batch-attempts must be at least 1.");
        if (PollDelay <= TimeSpan.Zero || PollMaxDelay < PollDelay) p.Add("need 0 < --batch-poll-seconds <= the longest poll delay.");
        if (CollectWindow <= TimeSpan.Zero) p.Add("the collect window must be positive.");
        return p;
    }
}
