using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Distill.Core.Errors;
using Distill.Core.Samples;
using Distill.Teachers;
using Distill.Teachers.Batch;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Retry;

namespace Distill.Generation.Batch;

/// <summary>
/// The teacher of <c>distill generate --batch</c>. Every call is queued instead of sent; once no new call has arrived for
/// <see cref="BatchOptions.CollectWindow"/> (every open sample is waiting on the teacher), the queue goes out as one round:
/// JSONL files within the per-file limits, uploaded, one batch each, polled with backoff, results mapped back by
/// <c>custom_id</c> (a hash of the request) to the waiting calls. A multi-turn recipe therefore advances one turn per round,
/// with its tools run locally in between. Rows, lineage, the quality filter and the response cache are the online mode's,
/// since recipes see an ordinary teacher; the cost is the teacher's prices times its <c>BatchPriceFactor</c>. Failed and
/// expired lines go into the next round (up to <see cref="BatchOptions.MaxAttempts"/> batches), then online
/// (<see cref="BatchOptions.FallbackOnline"/>) or they fail as <see cref="TeacherUnavailableException"/>, which leaves the
/// sample for a later run. Cancelling the run token cancels the batches in flight and still delivers what they completed (the
/// provider bills it). Batch ids stay in <see cref="BatchState"/> until their results are downloaded, for <see cref="ResumeAsync"/>.
/// </summary>
public sealed class BatchTeacher : ITeacher, IAsyncDisposable
{
    private readonly BatchApiClient _api;
    private readonly TeacherOptions _teacher;
    private readonly BatchOptions _options;
    private readonly BatchState _state;
    private readonly ITeacher? _online;
    private readonly CostCalculator _cost;
    private readonly ILogger _log;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Pending> _queued = new(StringComparer.Ordinal);
    private readonly Dictionary<string, BatchLineResult> _recovered = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop;
    private readonly ResiliencePipeline<BatchInfo> _poll;
    private long _lastEnqueue;
    private int _disposed;
    private Task? _loop;
    private int _rounds, _files, _submitted, _resubmitted, _sentOnline, _recoveredCount, _cancelledBatches, _completedInCancelled;

    /// <param name="online">The online teacher for <see cref="BatchOptions.FallbackOnline"/>; null when not wanted.</param>
    /// <param name="runToken">The run's token: cancelling it cancels the batches in flight (what they completed is still delivered).</param>
    public BatchTeacher(BatchApiClient api, TeacherOptions teacher, BatchOptions options, BatchState state, ITeacher? online, CancellationToken runToken, ILogger? logger = null)
    {
        var problems = options.Validate();
        if (problems.Count > 0) throw new DistillException($"Invalid batch settings: {string.Join(" ", problems)}", "fix the --batch-* options");
        _api = api;
        _teacher = teacher;
        _options = options;
        _state = state;
        _online = options.FallbackOnline ? online : null;
        _log = logger ?? NullLogger.Instance;
        _cost = new CostCalculator(teacher).Scaled(teacher.BatchPriceFactor);
        _stop = CancellationTokenSource.CreateLinkedTokenSource(runToken);
        Info = new TeacherInfo(teacher.Provider, teacher.Model, teacher.TokenizerId);
        _poll = new ResiliencePipelineBuilder<BatchInfo>().AddRetry(new RetryStrategyOptions<BatchInfo>
        {
            // Polling is the retry loop: a batch not yet final, or a status read that failed transiently, is read again later.
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Result is { IsTerminal: false } || args.Outcome.Exception is TeacherTransientException),
            MaxRetryAttempts = int.MaxValue,
            Delay = options.PollDelay,
            MaxDelay = options.PollMaxDelay,
            BackoffType = DelayBackoffType.Exponential,
        }).Build();
    }

    public string Name => _teacher.Name;
    public TeacherInfo Info { get; }

    /// <summary>The batch price as a fraction of the online price (the teacher's <c>BatchPriceFactor</c>).</summary>
    public double PriceFactor => _teacher.BatchPriceFactor;

    /// <summary>The prices a batch response is billed at.</summary>
    public CostCalculator Prices => _cost;

    public BatchProgress Progress => new(Volatile.Read(ref _rounds), Volatile.Read(ref _files), Volatile.Read(ref _submitted), Volatile.Read(ref _resubmitted),
        Volatile.Read(ref _sentOnline), Volatile.Read(ref _recoveredCount), Volatile.Read(ref _cancelledBatches), Volatile.Read(ref _completedInCancelled));

    /// <summary>The request's <c>custom_id</c>: identical requests share one line and one response, in this run and a resumed one.</summary>
    public static string CustomId(TeacherRequest request) =>
        "r-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(request))))[..40];

    /// <summary>
    /// Finishes the batches an earlier run left in flight (their ids are in the state file): waits for each, downloads its output
    /// and keeps the completions, which the resumed run's identical requests then receive without a new batch.
    /// </summary>
    public async Task ResumeAsync(CancellationToken ct)
    {
        foreach (var id in _state.InFlightOf(Name))
        {
            _log.LogInformation("batch: picking up {Batch} from the previous run", id);
            var info = await _poll.ExecuteAsync(async t => await _api.GetAsync(id, t).ConfigureAwait(false), ct).ConfigureAwait(false);
            foreach (var line in await LinesAsync(info, ct).ConfigureAwait(false))
            {
                // Failures are simply asked again by the resumed run.
                if (line.Succeeded) lock (_lock) _recovered[line.CustomId] = line;
            }
            _state.Remove(id);
        }
    }

    public Task<TeacherResponse> CompleteAsync(TeacherRequest request, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var id = CustomId(request);
        lock (_lock)
        {
            if (_loop is { IsFaulted: true } failed) return Task.FromException<TeacherResponse>(failed.Exception!.InnerException ?? failed.Exception!);
            if (_stop.IsCancellationRequested) return Task.FromCanceled<TeacherResponse>(_stop.Token);
            if (_recovered.Remove(id, out var recovered))
            {
                _recoveredCount++;
                return Deliver(recovered, request, TimeSpan.Zero);
            }
            if (!_queued.TryGetValue(id, out var pending))
            {
                _queued[id] = pending = new Pending(id, request);
                _lastEnqueue = Stopwatch.GetTimestamp();
            }
            _loop ??= Task.Run(() => LoopAsync(_stop.Token));
            // Not cancelled by the caller's token: after Ctrl+C the batch still delivers what it completed (and was billed for).
            return pending.Completion.Task;
        }
    }

    /// <summary>Stops the batch loop (cancelling the batches still in flight, whose completed lines are still delivered) and waits for it. Safe to call twice.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Cancelled, or failed: a failure already went to every call waiting on it.
            }
        }
        _stop.Dispose();
    }

    private Task<TeacherResponse> Deliver(BatchLineResult line, TeacherRequest request, TimeSpan latency)
    {
        try
        {
            return Task.FromResult(BatchLines.ToResponse(line, request, _teacher, _cost, latency));
        }
        catch (TeacherException e)
        {
            return Task.FromException<TeacherResponse>(e);
        }
    }

    private async Task LoopAsync(CancellationToken ct)
    {
        try
        {
            while (true)
            {
                var round = await NextRoundAsync(ct).ConfigureAwait(false);
                await RunRoundAsync(round, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            CancelQueued();
        }
        catch (Exception e)
        {
            // Nothing more can be submitted: every waiting call gets the error.
            lock (_lock)
            {
                foreach (var p in _queued.Values) p.Completion.TrySetException(e);
                _queued.Clear();
            }
            throw;
        }
    }

    /// <summary>Waits for a quiet queue: requests waiting and none new for the collect window.</summary>
    private async Task<List<Pending>> NextRoundAsync(CancellationToken ct)
    {
        var tick = TimeSpan.FromMilliseconds(Math.Clamp(_options.CollectWindow.TotalMilliseconds / 4, 1, 500));
        while (true)
        {
            await Task.Delay(tick, ct).ConfigureAwait(false);
            lock (_lock)
            {
                if (_queued.Count > 0 && Stopwatch.GetElapsedTime(_lastEnqueue) >= _options.CollectWindow)
                {
                    var round = _queued.Values.ToList();
                    _queued.Clear();
                    return round;
                }
            }
        }
    }

    private async Task RunRoundAsync(List<Pending> round, CancellationToken ct)
    {
        var number = Interlocked.Increment(ref _rounds);
        var clock = Stopwatch.StartNew();
        var byId = round.ToDictionary(p => p.CustomId, StringComparer.Ordinal);
        var lines = round.Select(p => BatchLines.Render(p.CustomId, p.Request, _teacher)).ToList();
        var files = BatchFiles.Split(lines, _options.MaxRequestsPerFile, _options.MaxBytesPerFile);
        _log.LogInformation("batch round {Round}: {Requests} requests in {Files} file(s)", number, round.Count, files.Count);
        var collecting = new List<Task>();
        ExceptionDispatchInfo? failure = null;
        try
        {
            for (var i = 0; i < files.Count; i++)
            {
                var fileId = await _api.UploadAsync($"distill-round{number:D4}-part{i:D3}.jsonl", BatchFiles.Content(files[i]), ct).ConfigureAwait(false);
                var batch = await _api.CreateAsync(fileId, ct).ConfigureAwait(false);
                _state.Add(Name, batch.Id);
                Interlocked.Increment(ref _files);
                Interlocked.Add(ref _submitted, files[i].Count);
                collecting.Add(CollectAsync(batch.Id, number, byId, clock, ct));
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Files not yet turned into batches cost nothing; their calls are cancelled below with the rest of the round.
        }
        catch (Exception e)
        {
            failure = ExceptionDispatchInfo.Capture(e);
        }
        try
        {
            await Task.WhenAll(collecting).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            failure ??= ExceptionDispatchInfo.Capture(e);
        }

        foreach (var p in byId.Values.Where(p => !p.Completion.Task.IsCompleted && p.AnsweredInRound != number))
        {
            // Not submitted, or no line came back (the batch expired, failed or was cancelled before reaching it).
            if (failure is not null) p.Completion.TrySetException(failure.SourceException);
            else if (ct.IsCancellationRequested) p.Completion.TrySetCanceled(ct);
            else Retry(p, new BatchLineResult(p.CustomId, null, null, BatchLineResult.Expired, "no result line came back for the request"), ct);
        }
        failure?.Throw();
        ct.ThrowIfCancellationRequested();
    }

    private async Task CollectAsync(string batchId, int round, Dictionary<string, Pending> byId, Stopwatch clock, CancellationToken ct)
    {
        BatchInfo info;
        try
        {
            info = await _poll.ExecuteAsync(async t => await _api.GetAsync(batchId, t).ConfigureAwait(false), ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            info = await CancelAsync(batchId).ConfigureAwait(false);
        }
        if (info.Status == BatchInfo.Failed && info.OutputFileId is null && info.ErrorFileId is null)
        {
            _state.Remove(batchId); // nothing in it to pick up
            throw new DistillException($"Batch {batchId} of teacher '{Name}' failed: {info.Error ?? "no reason given"}",
                "check that the deployment takes batches (Azure: a Global Batch deployment) and the request parameters");
        }
        var completed = 0;
        foreach (var line in await LinesAsync(info, CancellationToken.None).ConfigureAwait(false))
        {
            if (!byId.TryGetValue(line.CustomId, out var pending) || pending.Completion.Task.IsCompleted || pending.AnsweredInRound == round) continue;
            pending.AnsweredInRound = round;
            if (line.Succeeded)
            {
                _ = ForwardAsync(Deliver(line, pending.Request, clock.Elapsed), pending.Completion);
                completed++;
            }
            else if (ct.IsCancellationRequested) pending.Completion.TrySetCanceled(ct);
            else Retry(pending, line, ct);
        }
        _state.Remove(batchId);
        if (info.Status == BatchInfo.Cancelled && ct.IsCancellationRequested)
        {
            Interlocked.Increment(ref _cancelledBatches);
            Interlocked.Add(ref _completedInCancelled, completed);
            _log.LogWarning("batch {Batch} cancelled: the {Completed} requests it completed are kept (the provider bills completed requests)", batchId, completed);
        }
        else if (info.Status != BatchInfo.Completed)
        {
            _log.LogWarning("batch {Batch} ended {Status} with {Completed} of its requests completed; the rest go into the next round", batchId, info.Status, completed);
        }
    }

    /// <summary>Cancels a batch (the run was cancelled) and waits a bounded time for its partial output.</summary>
    private async Task<BatchInfo> CancelAsync(string batchId)
    {
        using var wait = new CancellationTokenSource(_options.CancelWait);
        try
        {
            var info = await _api.CancelAsync(batchId, wait.Token).ConfigureAwait(false);
            return info.IsTerminal ? info : await _poll.ExecuteAsync(async t => await _api.GetAsync(batchId, t).ConfigureAwait(false), wait.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _log.LogWarning("batch {Batch} did not finish cancelling within {Wait}; its id stays in {State} for --resume", batchId, _options.CancelWait, BatchState.FileName);
            throw;
        }
    }

    private async Task<List<BatchLineResult>> LinesAsync(BatchInfo info, CancellationToken ct)
    {
        var lines = new List<BatchLineResult>();
        foreach (var file in new[] { info.OutputFileId, info.ErrorFileId })
        {
            if (string.IsNullOrEmpty(file)) continue;
            var text = await _api.DownloadAsync(file, ct).ConfigureAwait(false);
            foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                try
                {
                    lines.Add(BatchLines.Read(line));
                }
                catch (JsonException e)
                {
                    // A damaged line maps to no request: that request counts as expired and goes into the next round.
                    _log.LogWarning("batch {Batch}: a line of file {File} is not a batch line ({Error}); skipped", info.Id, file, e.Message);
                }
            }
        }
        return lines;
    }

    /// <summary>A line that failed: into the next round, online, or given up.</summary>
    private void Retry(Pending pending, BatchLineResult line, CancellationToken ct)
    {
        if (line.IsRetryable && pending.Attempts < _options.MaxAttempts)
        {
            pending.Attempts++;
            Interlocked.Increment(ref _resubmitted);
            lock (_lock)
            {
                // An identical request asked meanwhile is queued already: this one takes its answer.
                if (_queued.TryGetValue(pending.CustomId, out var twin) && !ReferenceEquals(twin, pending)) _ = ForwardAsync(twin.Completion.Task, pending.Completion);
                else
                {
                    _queued[pending.CustomId] = pending;
                    _lastEnqueue = Stopwatch.GetTimestamp();
                }
            }
            return;
        }
        if (line.IsRetryable && _online is not null)
        {
            Interlocked.Increment(ref _sentOnline);
            _ = ForwardAsync(_online.CompleteAsync(pending.Request, ct), pending.Completion);
            return;
        }
        pending.Completion.TrySetException(BatchLines.ToException(line, Name, pending.Attempts));
    }

    private static async Task ForwardAsync(Task<TeacherResponse> source, TaskCompletionSource<TeacherResponse> target)
    {
        try
        {
            target.TrySetResult(await source.ConfigureAwait(false));
        }
        catch (OperationCanceledException e)
        {
            target.TrySetCanceled(e.CancellationToken);
        }
        catch (Exception e)
        {
            target.TrySetException(e);
        }
    }

    private void CancelQueued()
    {
        lock (_lock)
        {
            foreach (var p in _queued.Values) p.Completion.TrySetCanceled(_stop.Token);
            _queued.Clear();
        }
    }

    private sealed class Pending(string customId, TeacherRequest request)
    {
        public string CustomId { get; } = customId;
        public TeacherRequest Request { get; } = request;
        public int Attempts { get; set; } = 1;

        /// <summary>The last round a result line for this request came back in (a request re-queued by it is not "missing").</summary>
        public int AnsweredInRound { get; set; }
        public TaskCompletionSource<TeacherResponse> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
