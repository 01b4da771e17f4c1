using System.Diagnostics;
using System.Text.Json;
using Distill.Core.Samples;
using Distill.Generation.Batch;
using Distill.Generation.Recipes;
using Distill.Generation.Runner;
using Distill.Generation.Templates;
using Distill.Teachers;
using Distill.Teachers.Batch;

namespace Distill.Bench;

/// <summary>One `bench generate --batch` run.</summary>
/// <param name="FakeSeconds">Wall time the fake provider spent processing batches (<see cref="BenchBatchApi.ProcessingSeconds"/>).</param>
/// <param name="TotalSeconds">Wall time of the whole generation run.</param>
/// <param name="BeforeFirstBatchSeconds">From the run's start to the first batch's creation (rendering, collect window, upload).</param>
/// <param name="AfterLastBatchSeconds">From the last batch's completion to the run's end (download, mapping, verifying, committing).</param>
public sealed record BatchBenchmarkResult(int Tasks, BatchProgress Batch, int Accepted, int Rejected, int Uncommitted, int InjectedFailed, int InjectedExpired,
    int RowsInDataset, double FakeSeconds, double TotalSeconds, double BeforeFirstBatchSeconds, double AfterLastBatchSeconds)
{
    /// <summary>Rejected samples per reason (the quality filter's verdicts).</summary>
    public IReadOnlyDictionary<string, int> RejectReasons { get; init; } = new Dictionary<string, int>();

    /// <summary>Every task ended accepted or rejected: none left uncommitted for a later run.</summary>
    public bool Accounted => Accepted + Rejected == Tasks && Uncommitted == 0;

    /// <summary>Time outside the fake's processing, as a share of it (target &lt; 5%).</summary>
    public double OverheadFraction => FakeSeconds > 0 ? (TotalSeconds - FakeSeconds) / FakeSeconds : double.PositiveInfinity;
}

/// <summary>
/// `distill bench generate --batch N`: the machinery of <c>distill generate --batch</c> (cot recipe rendering, JSONL files split
/// by the limits, upload, create, poll, download, mapping by custom_id, re-queueing of failed and expired lines, response cache,
/// quality filter, dataset writer) over N templated order-total tasks against <see cref="BenchBatchApi"/> on loopback.
/// </summary>
public static class BatchGenerationBenchmark
{
    private const string KeyEnv = "DISTILL_BENCH_BATCH_KEY";

    /// <summary>Bench settings: polls start at 20 ms and back off to 100 ms; a round is submitted after 200 ms without a new request.</summary>
    public static BatchOptions Options { get; } = new()
    {
        PollDelay = TimeSpan.FromMilliseconds(20),
        PollMaxDelay = TimeSpan.FromMilliseconds(100),
        CollectWindow = TimeSpan.FromMilliseconds(200),
        CancelWait = TimeSpan.FromSeconds(10),
    };

    /// <param name="collectWindow">Quiet time before a round is submitted (default <see cref="Options"/>' 200 ms). A test that counts rounds
    /// passes a longer one: on a loaded machine the runner can pause for more than 200 ms between two of the first round's requests,
    /// which splits that round in two.</param>
    public static async Task<BatchBenchmarkResult> RunAsync(TemplateDefinition cotTemplate, string directory, int tasks, TimeSpan lineTime,
        int maxRequestsPerFile, CancellationToken ct = default, TimeSpan? collectWindow = null)
    {
        if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        var seeds = InstantOrderTeacher.Tasks(tasks);
        var answers = new InstantOrderTeacher(seeds);
        await using var api = await BenchBatchApi.StartAsync(body => Reply(answers, body), lineTime).ConfigureAwait(false);
        var teacherOptions = new TeacherOptions
        {
            Name = "bench-batch",
            Provider = TeacherProviders.OpenAICompatible,
            Endpoint = api.Endpoint,
            Model = "bench-batch",
            ApiKeyEnv = KeyEnv,
            MaxRetries = 0,
        };
        var dataset = Path.Combine(directory, "dataset");
        using var client = new BatchApiClient(teacherOptions, environment: name => name == KeyEnv ? BenchBatchApi.Key : null);
        var batch = new BatchTeacher(client, teacherOptions, Options with { MaxRequestsPerFile = maxRequestsPerFile, CollectWindow = collectWindow ?? Options.CollectWindow }, BatchState.Load(dataset), online: null, ct);
        RunProgress progress;
        var started = Stopwatch.GetTimestamp();
        long ended;
        try
        {
            var caching = new CachingTeacher(batch, Path.Combine(directory, "cache"), cotTemplate.Version);
            var recipe = new ChainOfThoughtRecipe(new RecipeContext { Template = cotTemplate, Teacher = caching });
            var runner = new GenerationRunner(recipe, caching, cotTemplate.Version, new GenerateOptions
            {
                OutputDir = dataset,
                // As `generate --batch` runs: every task's request is open at once, so one round holds them all.
                Concurrency = tasks,
            });
            progress = await runner.RunAsync(seeds, null, ct).ConfigureAwait(false);
            ended = Stopwatch.GetTimestamp();
        }
        finally
        {
            await batch.DisposeAsync().ConfigureAwait(false);
        }
        var rows = 0;
        await foreach (var _ in Distill.Data.DatasetReader.Open(dataset).ReadSamplesAsync(ct).ConfigureAwait(false)) rows++;
        return new BatchBenchmarkResult(tasks, batch.Progress, progress.Accepted, progress.RejectedCount, progress.UncommittedCount, api.InjectedFailed,
            api.InjectedExpired, rows, api.ProcessingSeconds, progress.Elapsed.TotalSeconds, Stopwatch.GetElapsedTime(started, api.FirstCreatedAt).TotalSeconds,
            Stopwatch.GetElapsedTime(api.LastFinishedAt, ended).TotalSeconds)
        {
            RejectReasons = progress.Rejected,
        };
    }

    /// <summary>The instant order teacher's answer to the question in the request body (so the cot verifier accepts it).</summary>
    private static string Reply(InstantOrderTeacher answers, JsonElement body)
    {
        var question = body.GetProperty("messages").EnumerateArray().Last(m => m.GetProperty("role").GetString() == ChatRoles.User).GetProperty("content").GetString()!;
        return answers.CompleteAsync(new TeacherRequest { Messages = [ChatMessage.User(question)] }).GetAwaiter().GetResult().Content!;
    }
}
