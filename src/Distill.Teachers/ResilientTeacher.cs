using System.Threading.RateLimiting;
using Distill.Core.Samples;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.CircuitBreaker;
using Polly.RateLimiting;
using Polly.Retry;
using Polly.Timeout;

namespace Distill.Teachers;

/// <summary>
/// Wraps one teacher endpoint in its Polly 8 pipeline, outermost first:
/// total timeout -> retry (exponential backoff with jitter, honouring Retry-After / retry-after-ms) -> circuit breaker ->
/// concurrency limit -> requests-per-minute -> tokens-per-minute -> per-attempt timeout -> HTTP call.
/// Limits sit inside the retry so every attempt is counted and a backoff holds no slot; the attempt timeout sits inside the
/// limits so queueing does not eat into it. 400/401/403/404 and malformed responses are not retried.
/// Exhausted retries, an open circuit or the total timeout end in <see cref="TeacherUnavailableException"/>.
/// </summary>
public sealed class ResilientTeacher : ITeacher, IDisposable
{
    private readonly ITeacher _inner;
    private readonly TeacherOptions _options;
    private readonly ILogger _logger;
    private readonly UsageMeter? _meter;
    private readonly ResiliencePipeline<TeacherResponse> _pipeline;
    private readonly List<IDisposable> _limiters = [];
    private readonly TokensPerMinuteLimiter? _tpm;

    private static readonly ResiliencePropertyKey<CallState> StateKey = new("distill.teacher.call");

    public ResilientTeacher(ITeacher inner, TeacherOptions options, ILogger? logger = null, UsageMeter? meter = null, TimeProvider? timeProvider = null)
    {
        options.ThrowIfInvalid();
        _inner = inner;
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        _meter = meter;

        var builder = new ResiliencePipelineBuilder<TeacherResponse> { Name = $"teacher:{options.Name}" };
        if (timeProvider is not null) builder.TimeProvider = timeProvider;
        var transient = new PredicateBuilder<TeacherResponse>().Handle<TeacherTransientException>().Handle<TimeoutRejectedException>();

        builder.AddTimeout(new TimeoutStrategyOptions { Name = "total", Timeout = options.TotalTimeout });
        if (options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<TeacherResponse>
            {
                Name = "retry",
                ShouldHandle = transient,
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.RetryMaxDelay,
                DelayGenerator = args => new ValueTask<TimeSpan?>(args.Outcome.Exception is TeacherTransientException { RetryAfter: { } wait }
                    ? (wait > options.MaxRetryAfter ? options.MaxRetryAfter : wait)
                    : null),
                OnRetry = args =>
                {
                    _logger.LogWarning("Teacher {Teacher}: attempt {Attempt} failed ({Error}); retrying in {DelayMs:F0} ms",
                        options.Name, args.AttemptNumber + 1, Short(args.Outcome.Exception), args.RetryDelay.TotalMilliseconds);
                    return default;
                },
            });
        }
        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions<TeacherResponse>
        {
            Name = "circuit",
            ShouldHandle = transient,
            FailureRatio = options.CircuitFailureRatio,
            MinimumThroughput = options.CircuitMinimumThroughput,
            SamplingDuration = options.CircuitSamplingDuration,
            BreakDuration = options.CircuitBreakDuration,
            OnOpened = args =>
            {
                _logger.LogError("Teacher {Teacher}: circuit opened for {BreakS:F1} s after repeated failures ({Error})",
                    options.Name, args.BreakDuration.TotalSeconds, Short(args.Outcome.Exception));
                return default;
            },
            OnClosed = _ => { _logger.LogInformation("Teacher {Teacher}: circuit closed", options.Name); return default; },
        });

        var concurrency = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = options.MaxConcurrency,
            QueueLimit = int.MaxValue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
        _limiters.Add(concurrency);
        builder.AddRateLimiter(concurrency);
        if (options.Rpm is { } rpm)
        {
            // A full bucket adds its capacity to the first minute's refill, and network jitter bunches arrivals at the
            // server's window edge: both gave one 429 per ~750 requests at exactly rpm (bench generate). Refilling at
            // 98% of rpm minus the capacity keeps every one-minute window under the provider's count.
            var capacity = Math.Max(1, (int)Math.Ceiling(rpm / 600d));
            var bucket = RateLimits.Bucket(Math.Max(1, (int)(rpm * 0.98) - capacity), capacity);
            _limiters.Add(bucket);
            builder.AddRateLimiter(bucket);
        }
        if (options.Tpm is { } tpm)
        {
            _tpm = new TokensPerMinuteLimiter(tpm);
            _limiters.Add(_tpm);
            var limiter = _tpm;
            builder.AddRateLimiter(new RateLimiterStrategyOptions
            {
                Name = "tpm",
                RateLimiter = args => limiter.AcquireAsync(args.Context.Properties.GetValue(StateKey, null!).EstimatedTokens, args.Context.CancellationToken),
            });
        }
        builder.AddTimeout(new TimeoutStrategyOptions { Name = "attempt", Timeout = options.AttemptTimeout });
        _pipeline = builder.Build();
    }

    public string Name => _inner.Name;
    public TeacherInfo Info => _inner.Info;

    /// <summary>The tokens-per-minute limiter, when <see cref="TeacherOptions.Tpm"/> is set (its balance shows the pending correction).</summary>
    public TokensPerMinuteLimiter? TokenLimiter => _tpm;

    public async Task<TeacherResponse> CompleteAsync(TeacherRequest request, CancellationToken cancellationToken = default)
    {
        var state = new CallState(_inner, request, TokenEstimator.Estimate(request), _tpm);
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(StateKey, state);
        try
        {
            var response = await _pipeline.ExecuteAsync(static async (ctx, s) =>
            {
                Interlocked.Increment(ref s.Attempts);
                var r = await s.Inner.CompleteAsync(s.Request, ctx.CancellationToken).ConfigureAwait(false);
                s.Tpm?.Correct(s.EstimatedTokens, r.Usage.TotalTokens);
                return r;
            }, context, state).ConfigureAwait(false);
            response = response with { Attempts = state.Attempts };
            _meter?.Record(response);
            return response;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (BrokenCircuitException e)
        {
            _meter?.RecordFailure(Name);
            throw new TeacherUnavailableException(Name, $"Teacher '{Name}' is down: its circuit is open after repeated failures (retry after {e.RetryAfter?.TotalSeconds ?? _options.CircuitBreakDuration.TotalSeconds:F0} s).");
        }
        catch (TimeoutRejectedException e)
        {
            _meter?.RecordFailure(Name);
            throw new TeacherUnavailableException(Name, state.Attempts > _options.MaxRetries
                ? $"Teacher '{Name}' timed out: {state.Attempts} attempts of {_options.AttemptTimeout.TotalSeconds:0.###} s each."
                : $"Teacher '{Name}' gave no answer within the total timeout of {_options.TotalTimeout.TotalSeconds:0.###} s ({state.Attempts} attempts).", e);
        }
        catch (TeacherTransientException e)
        {
            _meter?.RecordFailure(Name);
            throw new TeacherUnavailableException(Name, $"Teacher '{Name}' failed after {state.Attempts} attempts; last error: {e.Message}", e);
        }
        catch (TeacherException)
        {
            _meter?.RecordFailure(Name);
            throw;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private static string Short(Exception? e) => e switch
    {
        null => "no exception",
        TimeoutRejectedException t => $"attempt timed out after {t.Timeout.TotalSeconds:0.###} s",
        _ => e.Message,
    };

    public void Dispose()
    {
        foreach (var l in _limiters) l.Dispose();
    }

    private sealed class CallState(ITeacher inner, TeacherRequest request, int estimatedTokens, TokensPerMinuteLimiter? tpm)
    {
        public readonly ITeacher Inner = inner;
        public readonly TeacherRequest Request = request;
        public readonly int EstimatedTokens = estimatedTokens;
        public readonly TokensPerMinuteLimiter? Tpm = tpm;
        public int Attempts;
    }
}
