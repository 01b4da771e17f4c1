using System.Threading.RateLimiting;

namespace Distill.Teachers;

/// <summary>Builds smooth token buckets from per-minute limits.</summary>
internal static class RateLimits
{
    /// <summary>
    /// A bucket that refills <paramref name="perMinute"/> per minute in steps of at least a tenth of a second, holding at most
    /// <paramref name="capacity"/>. Any window of length T then admits at most capacity + perMinute * T / 60 s, so a server that
    /// enforces the quota over short windows (Azure checks 1 s and 10 s windows) does not see bursts.
    /// </summary>
    public static TokenBucketRateLimiter Bucket(int perMinute, int capacity)
    {
        int tokensPerPeriod = Math.Max(1, (int)Math.Ceiling(perMinute / 600d));
        var period = TimeSpan.FromTicks(TimeSpan.FromMinutes(1).Ticks * tokensPerPeriod / perMinute);
        return new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(capacity, tokensPerPeriod),
            TokensPerPeriod = tokensPerPeriod,
            ReplenishmentPeriod = period,
            QueueLimit = int.MaxValue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = true,
        });
    }
}

/// <summary>
/// Tokens-per-minute limiter. Before a call it takes the estimated tokens (<see cref="TokenEstimator"/>) from a token bucket;
/// after the call <see cref="Correct"/> books the difference between the real usage and the estimate into a balance that the
/// next acquisition settles: a call that used more than estimated makes the next one take more (debt), one that used less makes
/// the next one take less (credit). A token bucket cannot hand tokens back, so the balance is how the estimate is corrected.
/// </summary>
public sealed class TokensPerMinuteLimiter : IDisposable
{
    private readonly TokenBucketRateLimiter _bucket;
    private readonly int _capacity;
    private long _balance; // > 0: tokens owed; < 0: tokens prepaid

    public TokensPerMinuteLimiter(int tpm)
    {
        _capacity = Math.Max(1, (int)Math.Ceiling(tpm / 6d)); // ten seconds' worth
        _bucket = RateLimits.Bucket(tpm, _capacity);
    }

    /// <summary>Outstanding correction (positive: owed, negative: prepaid).</summary>
    public long Balance => Interlocked.Read(ref _balance);

    public async ValueTask<RateLimitLease> AcquireAsync(int estimatedTokens, CancellationToken cancellationToken)
    {
        long need = estimatedTokens + Interlocked.Exchange(ref _balance, 0);
        if (need <= 0)
        {
            Interlocked.Add(ref _balance, need); // still prepaid: keep the rest of the credit
            return GrantedLease.Instance;
        }
        if (need > _capacity)
        {
            // One request larger than the bucket: take a full bucket now and owe the rest.
            Interlocked.Add(ref _balance, need - _capacity);
            need = _capacity;
        }
        return await _bucket.AcquireAsync((int)need, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Books <paramref name="actualTokens"/> - <paramref name="estimatedTokens"/> for the next acquisition.</summary>
    public void Correct(int estimatedTokens, int actualTokens) => Interlocked.Add(ref _balance, (long)actualTokens - estimatedTokens);

    public void Dispose() => _bucket.Dispose();
}

/// <summary>A lease that was granted without taking anything from a limiter.</summary>
internal sealed class GrantedLease : RateLimitLease
{
    public static readonly GrantedLease Instance = new();
    public override bool IsAcquired => true;
    public override IEnumerable<string> MetadataNames => [];
    public override bool TryGetMetadata(string metadataName, out object? metadata) { metadata = null; return false; }
}
