using System.Globalization;
using Distill.Core.Samples;
using Distill.Data;
using Distill.Generation.Recipes;
using Distill.Generation.Runner;
using Distill.Teachers;

namespace Distill.Generation.Tests.Runner;

/// <summary>A Kubernetes Indexed Job's workers, in process: each resolves its shard from the Job's environment and writes into one shared dataset folder.</summary>
public sealed class IndexedJobTests : IDisposable
{
    private const int Workers = 4;
    private static readonly IReadOnlyList<SeedTask> Tasks = InstantOrderTeacher.Tasks(40);
    private readonly string _dir = Directory.CreateTempSubdirectory("distill-indexed-job-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Workers_from_the_job_environment_with_one_stopped_and_rerun_write_every_task_once()
    {
        using var stop = new CancellationTokenSource();
        var runs = Enumerable.Range(0, Workers)
            .Select(i => RunWorkerAsync(i, stopAfterCalls: i == 2 ? 3 : null, i == 2 ? stop : null))
            .ToList();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => runs[2]);
        await Task.WhenAll(runs.Where((_, i) => i != 2));

        var partial = await ReadIdsAsync();
        Assert.InRange(partial.Count, Tasks.Count - Tasks.Count / Workers, Tasks.Count - 1);

        await RunWorkerAsync(2, null, null); // the Job restarts the pod with the same index

        var ids = await ReadIdsAsync();
        Assert.Equal(Tasks.Count, ids.Count);
        Assert.Equal(Tasks.Count, ids.Distinct().Count());
        Assert.Equal(Workers, DatasetManifest.Load(Dataset).Shards.Select(s => s.Worker).Distinct().Count());
    }

    private string Dataset => Path.Combine(_dir, "dataset");

    private async Task<RunProgress> RunWorkerAsync(int index, int? stopAfterCalls, CancellationTokenSource? stop)
    {
        var environment = new Dictionary<string, string>
        {
            [ShardSelection.IndexVariable] = index.ToString(CultureInfo.InvariantCulture),
            [ShardSelection.CountVariable] = Workers.ToString(CultureInfo.InvariantCulture),
        };
        var (shardIndex, shardCount) = ShardSelection.Resolve(null, null, name => environment.GetValueOrDefault(name));
        var template = ScriptedWorld.Library.Get("cot-answer");
        ITeacher teacher = new InstantOrderTeacher(Tasks);
        if (stopAfterCalls is { } calls) teacher = new StoppingTeacher(teacher, calls, stop!);
        // Each pod has its own cache; only the dataset folder is shared.
        var caching = new CachingTeacher(teacher, Path.Combine(_dir, $"cache-{index}"), template.Version);
        var runner = new GenerationRunner(new ChainOfThoughtRecipe(ScriptedWorld.Context(caching, "cot-answer")), caching, template.Version, new GenerateOptions
        {
            OutputDir = Dataset,
            ShardIndex = shardIndex,
            ShardCount = shardCount,
            Concurrency = 1,
            CommitEvery = 2,
        });
        await Task.Yield();
        return await runner.RunAsync(Tasks, null, stop?.Token ?? CancellationToken.None);
    }

    private async Task<List<string>> ReadIdsAsync()
    {
        var ids = new List<string>();
        await foreach (var s in DatasetReader.Open(Dataset).ReadSamplesAsync()) ids.Add(s.Id);
        await foreach (var r in DatasetReader.Open(Dataset).ReadRejectsAsync()) ids.Add(r.Sample.Id);
        return ids;
    }

    /// <summary>Cancels the run once it has made <paramref name="calls"/> calls: the pod dies mid-shard.</summary>
    private sealed class StoppingTeacher(ITeacher inner, int calls, CancellationTokenSource stop) : ITeacher
    {
        private int _made;
        public string Name => inner.Name;
        public TeacherInfo Info => inner.Info;

        public Task<TeacherResponse> CompleteAsync(TeacherRequest request, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Increment(ref _made) > calls) stop.Cancel();
            return inner.CompleteAsync(request, cancellationToken);
        }
    }
}
