using Distill.Core.Errors;
using Distill.Teachers;
using Distill.Teachers.Batch;
using Microsoft.Extensions.Logging;

namespace Distill.Generation.Batch;

/// <summary>
/// The Batch API side of a <c>--batch</c> run: one <see cref="BatchTeacher"/> (its own client, files, batches and
/// <c>custom_id</c> map, at its own batch price) per routed teacher whose endpoint takes batches
/// (<see cref="TeacherOptions.TakesBatches"/>), all recording their batch ids in the dataset's one <see cref="BatchState"/> and
/// polling side by side. A routed teacher without a Batch API (a local vLLM or Distill's own <c>serve</c>) is
/// <see cref="Online"/>: its tasks are called online in the same run, at its online price. Refused before any call
/// (<see cref="Check"/>): a run none of whose teachers takes batches, batches in flight without <c>--resume</c>, and batches in
/// flight that belong to a teacher this run sends no batches to.
/// </summary>
public sealed class BatchFleet : IAsyncDisposable
{
    private readonly List<BatchApiClient> _clients;
    private readonly Dictionary<string, BatchTeacher> _teachers;

    private BatchFleet(List<BatchApiClient> clients, Dictionary<string, BatchTeacher> teachers, IReadOnlyList<string> online)
    {
        _clients = clients;
        _teachers = teachers;
        Online = online;
    }

    /// <summary>The routed teachers whose tasks go through the Batch API, in the order given.</summary>
    public IReadOnlyList<BatchTeacher> Teachers => [.. _teachers.Values];

    /// <summary>The routed teachers with no Batch API, whose tasks this run calls online.</summary>
    public IReadOnlyList<string> Online { get; }

    /// <summary>The batch teacher of <paramref name="teacher"/>; null when that teacher is called online.</summary>
    public BatchTeacher? For(string teacher) => _teachers.GetValueOrDefault(teacher);

    /// <summary>
    /// Throws a <see cref="DistillException"/> when the run cannot go through the Batch API as asked: no routed teacher takes
    /// batches (<paramref name="routing"/> names the table, null for one teacher), or <paramref name="state"/> lists batches in
    /// flight that this run would not collect (without <paramref name="resume"/>, or of a teacher it sends no batches to).
    /// </summary>
    public static void Check(IReadOnlyList<TeacherOptions> routed, string? routing, BatchState state, bool resume)
    {
        var batched = routed.Where(t => t.TakesBatches()).Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        if (batched.Count == 0)
        {
            throw routing is null
                ? new DistillException($"teacher '{routed[0].Name}' has no Batch API ({routed[0].Provider} at {routed[0].Endpoint}; only Azure OpenAI and api.openai.com take batches by default)",
                    "set BatchApi: true on it if its server takes /files and /batches, or drop --batch")
                : new DistillException($"none of the teachers routing '{routing}' sends tasks to has a Batch API ({string.Join(", ", routed.Select(t => t.Name))})",
                    "set BatchApi: true on those whose server takes /files and /batches, or drop --batch");
        }
        var inFlight = state.InFlight;
        if (inFlight.Count == 0) return;
        var strangers = state.Owners.Where(o => !batched.Contains(o)).ToList();
        if (strangers.Count > 0)
        {
            throw new DistillException($"{inFlight.Count} batch(es) in {state.FilePath} belong to teacher(s) {string.Join(", ", strangers.Select(s => $"'{s}'"))}, which this run sends no batches to",
                "collect them first with the command that submitted them plus --resume (--teacher or --routing as then), or delete that file to abandon them");
        }
        if (!resume)
        {
            throw new DistillException($"{inFlight.Count} batch(es) of an earlier run are still in flight ({string.Join(", ", inFlight)}), listed in {state.FilePath}",
                "add --resume to collect their results (they are paid for), or delete that file to abandon them");
        }
    }

    /// <summary>
    /// Builds the batch teachers of <paramref name="routed"/> (call <see cref="Check"/> first).
    /// </summary>
    /// <param name="online">The online client of a teacher, for <see cref="BatchOptions.FallbackOnline"/>; null when not wanted.</param>
    /// <param name="client">Builds a teacher's Batch API client (tests pass the fake's key); defaults to the environment's key.</param>
    /// <param name="runToken">The run's token: cancelling it cancels the batches in flight (what they completed is still delivered).</param>
    public static BatchFleet Create(IReadOnlyList<TeacherOptions> routed, BatchOptions options, BatchState state, Func<string, ITeacher>? online,
        CancellationToken runToken, ILoggerFactory? logs = null, Func<TeacherOptions, BatchApiClient>? client = null)
    {
        client ??= t => new BatchApiClient(t);
        var clients = new List<BatchApiClient>();
        var teachers = new Dictionary<string, BatchTeacher>(StringComparer.Ordinal);
        try
        {
            foreach (var t in routed.Where(t => t.TakesBatches()))
            {
                var api = client(t);
                clients.Add(api);
                teachers[t.Name] = new BatchTeacher(api, t, options, state, options.FallbackOnline ? online?.Invoke(t.Name) : null, runToken, logs?.CreateLogger("Distill.Batch"));
            }
        }
        catch
        {
            foreach (var c in clients) c.Dispose();
            throw;
        }
        return new BatchFleet(clients, teachers, [.. routed.Where(t => !t.TakesBatches()).Select(t => t.Name)]);
    }

    /// <summary>Collects the batches an earlier run left in flight, every teacher's at once (<see cref="BatchTeacher.ResumeAsync"/>).</summary>
    public Task ResumeAsync(CancellationToken ct) => Task.WhenAll(_teachers.Values.Select(t => t.ResumeAsync(ct)));

    /// <summary>Stops every batch teacher (cancelling what is in flight, delivering what completed), then closes the clients.</summary>
    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_teachers.Values.Select(t => t.DisposeAsync().AsTask())).ConfigureAwait(false);
        foreach (var c in _clients) c.Dispose();
    }
}
