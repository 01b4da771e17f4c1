using System.Text.Json;
using Distill.Core.Samples;
using Distill.Data;
using Distill.Generation.Batch;
using Distill.Generation.Recipes;
using Distill.Generation.Runner;
using Distill.Generation.Tests.Runner;
using Distill.Teachers;
using Distill.Teachers.Batch;
using Distill.Teachers.Tests.FaultServer;

namespace Distill.Generation.Tests.Batch;

public sealed class BatchGenerationTests : IDisposable
{
    private static readonly IReadOnlyList<SeedTask> Orders = InstantOrderTeacher.Tasks(30);
    private static readonly InstantOrderTeacher OrderTeacher = new(Orders);
    private readonly string _dir = Directory.CreateTempSubdirectory("distill-batch-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Dataset => Path.Combine(_dir, "dataset");

    private static ScriptedReply OrderReply(JsonElement body)
    {
        var question = body.GetProperty("messages").EnumerateArray().Last(m => m.GetProperty("role").GetString() == "user").GetProperty("content").GetString()!;
        return new ScriptedReply(OrderTeacher.Answer(question));
    }

    private static TeacherOptions Teacher(FakeBatchApi api, bool azure) => new()
    {
        Name = "batch-teacher",
        Provider = azure ? TeacherProviders.AzureOpenAI : TeacherProviders.OpenAICompatible,
        Endpoint = api.Endpoint.ToString(),
        Model = azure ? "gpt-4o-batch-deployment" : "gpt-4o-mini",
        ApiKeyEnv = "FAKE_BATCH_KEY",
        InputPricePer1M = 2,
        OutputPricePer1M = 8,
        MaxRetries = 0,
    };

    private static readonly BatchOptions Fast = new() { PollDelay = TimeSpan.FromMilliseconds(5), PollMaxDelay = TimeSpan.FromMilliseconds(20), CollectWindow = TimeSpan.FromMilliseconds(150) };

    private async Task<(RunProgress Progress, BatchProgress Batch)> RunAsync(FakeBatchApi api, bool azure = false, BatchOptions? options = null, IReadOnlyList<SeedTask>? tasks = null,
        string recipe = SampleKinds.ChainOfThought, ITeacher? online = null, bool resume = false, CancellationToken ct = default)
    {
        var teacherOptions = Teacher(api, azure);
        using var client = new BatchApiClient(teacherOptions, api, name => name == "FAKE_BATCH_KEY" ? "sk-test-key" : null);
        await using var batch = new BatchTeacher(client, teacherOptions, options ?? Fast, BatchState.Load(Dataset), online, ct);
        if (resume) await batch.ResumeAsync(ct);
        var template = ScriptedWorld.Library.Get(RecipeCatalog.DefaultTemplate(recipe));
        var caching = new CachingTeacher(batch, Path.Combine(_dir, "cache"), template.Version);
        var context = ScriptedWorld.Context(caching, template.Id);
        var runner = new GenerationRunner(RecipeCatalog.Create(recipe, context), caching, template.Version, new GenerateOptions
        {
            OutputDir = Dataset,
            Concurrency = 1000,
            CommitEvery = 10,
        });
        var progress = await runner.RunAsync(tasks ?? Orders, null, ct);
        return (progress, batch.Progress);
    }

    private async Task<List<Sample>> AcceptedAsync()
    {
        var rows = new List<Sample>();
        await foreach (var s in DatasetReader.Open(Dataset).ReadSamplesAsync()) rows.Add(s);
        return rows;
    }

    [Fact]
    public async Task Openai_batches_split_by_file_limits_map_back_every_row_at_the_batch_price()
    {
        var api = new FakeBatchApi(azure: false, OrderReply) { PollsInProgress = 2 };

        var (progress, batch) = await RunAsync(api, options: Fast with { MaxRequestsPerFile = 8 });

        Assert.Equal(Orders.Count, progress.Accepted);
        Assert.Equal(4, api.Uploads.Count); // 30 requests, at most 8 per file
        Assert.All(api.Uploads, u => Assert.InRange(u.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length, 1, 8));
        Assert.All(api.Uploads.SelectMany(u => u.Split('\n', StringSplitOptions.RemoveEmptyEntries)),
            l => Assert.Equal("/v1/chat/completions", JsonDocument.Parse(l).RootElement.GetProperty("url").GetString()));
        Assert.Contains("POST /v1/batches", api.Calls);
        Assert.All(api.AuthHeaders, h => Assert.Equal("Bearer sk-test-key", h));
        Assert.Equal(1, batch.Rounds);
        var rows = await AcceptedAsync();
        var online = (60 * 2 + 50 * 8) / 1e6;
        Assert.All(rows, r => Assert.Equal(online * 0.5, r.CostUsd, 9));
        Assert.All(rows, r => Assert.Equal(("openai-compatible", "gpt-4o-mini"), (r.Teacher!.Provider, r.Teacher.Model)));
        Assert.All(rows, r => Assert.True(r.Verified));
        Assert.False(File.Exists(BatchState.PathIn(Dataset)) && BatchState.Load(Dataset).InFlight.Count > 0);
    }

    [Fact]
    public async Task Azure_batches_use_the_openai_paths_api_version_key_header_and_deployment()
    {
        var api = new FakeBatchApi(azure: true, OrderReply);

        var (progress, _) = await RunAsync(api, azure: true, tasks: Orders.Take(5).ToList());

        Assert.Equal(5, progress.Accepted);
        Assert.Contains(api.Calls, c => c.StartsWith("POST /openai/files?api-version=2024-10-21", StringComparison.Ordinal));
        Assert.Contains(api.Calls, c => c.StartsWith("POST /openai/batches?api-version=2024-10-21", StringComparison.Ordinal));
        Assert.All(api.AuthHeaders, h => Assert.Equal("sk-test-key", h));
        var line = JsonDocument.Parse(api.Uploads[0].Split('\n')[0]).RootElement;
        Assert.Equal("/chat/completions", line.GetProperty("url").GetString());
        Assert.Equal("gpt-4o-batch-deployment", line.GetProperty("body").GetProperty("model").GetString());
    }

    [Fact]
    public async Task Failed_and_expired_lines_go_into_the_next_round_and_every_task_is_accounted_for()
    {
        var api = new FakeBatchApi(azure: false, OrderReply);
        var n = 0;
        api.Outcome = (_, attempt) => attempt > 1 ? LineOutcome.Ok : (Interlocked.Increment(ref n) % 10) switch
        {
            0 => LineOutcome.ServerError,
            7 => LineOutcome.Expired,
            3 => LineOutcome.BadRequest,
            _ => LineOutcome.Ok,
        };

        var (progress, batch) = await RunAsync(api);

        Assert.Equal(Orders.Count, progress.Accepted + progress.RejectedCount + progress.UncommittedCount);
        Assert.Equal(3, progress.Rejected.GetValueOrDefault(TeacherRejectReasons.RequestRejected)); // 400s are not retried
        Assert.Equal(Orders.Count - 3, progress.Accepted);
        Assert.Equal(2, batch.Rounds);
        Assert.Equal(6, batch.Resubmitted);
    }

    [Fact]
    public async Task Lines_failing_every_attempt_fall_back_to_online_calls_when_asked()
    {
        var api = new FakeBatchApi(azure: false, OrderReply) { Outcome = (_, _) => LineOutcome.Expired };

        var (progress, batch) = await RunAsync(api, options: Fast with { MaxAttempts = 2, FallbackOnline = true }, tasks: Orders.Take(6).ToList(), online: OrderTeacher);

        Assert.Equal(6, progress.Accepted);
        Assert.Equal(2, batch.Rounds);
        Assert.Equal(6, batch.SentOnline);
    }

    [Fact]
    public async Task Tool_traces_advance_one_turn_per_round_with_tools_run_locally_in_between()
    {
        var world = ScriptedWorld.Tasks(6);
        var api = new FakeBatchApi(azure: false, ScriptedWorld.Reply(world));

        var (progress, batch) = await RunAsync(api, tasks: world.Select(t => t.ToSeedTask()).ToList(), recipe: SampleKinds.ToolTrace);

        Assert.Equal(6, progress.Accepted + progress.RejectedCount);
        Assert.True(progress.Accepted >= 4, string.Join(", ", progress.Rejected.Select(r => $"{r.Key} {r.Value}")));
        Assert.True(batch.Rounds >= 2, $"{batch.Rounds} rounds");
        // One request per open conversation per round: no file holds two turns of one sample.
        foreach (var upload in api.Uploads)
        {
            var questions = upload.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("body").GetProperty("messages").EnumerateArray()
                    .First(m => m.GetProperty("role").GetString() == "user").GetProperty("content").GetString())
                .ToList();
            Assert.Equal(questions.Count, questions.Distinct().Count());
        }
    }

    [Fact]
    public async Task A_cancelled_run_keeps_what_completed_and_resume_picks_up_the_batch_left_in_flight()
    {
        // Run 1: cancelled while its batch runs; the provider answers half the lines and then takes too long to confirm the cancel.
        var api = new FakeBatchApi(azure: false, OrderReply) { PollsInProgress = 1_000_000 };
        using var cancel = new CancellationTokenSource();
        api.OnCreated = _ => cancel.CancelAfter(TimeSpan.FromMilliseconds(100));
        api.HangOnCancel = true;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => RunAsync(api, options: Fast with { CancelWait = TimeSpan.FromMilliseconds(200) }, tasks: Orders.Take(10).ToList(), ct: cancel.Token));
        Assert.Single(BatchState.Load(Dataset).InFlight);
        Assert.Single(api.Uploads);

        // Run 2 (--resume): the batch finishes; its results are used, and nothing is submitted again.
        api.HangOnCancel = false;
        api.PollsInProgress = 1;
        var (progress, batch) = await RunAsync(api, resume: true, tasks: Orders.Take(10).ToList());

        Assert.Equal(10, progress.Accepted);
        Assert.Equal(10, batch.Recovered);
        Assert.Single(api.Uploads);
        Assert.Empty(BatchState.Load(Dataset).InFlight);
    }

    [Fact]
    public async Task Cancelling_a_batch_delivers_the_lines_it_completed()
    {
        var api = new FakeBatchApi(azure: false, OrderReply) { PollsInProgress = 1_000_000, LinesDoneBeforeCancel = 4 };
        using var cancel = new CancellationTokenSource();
        api.OnCreated = _ => cancel.CancelAfter(TimeSpan.FromMilliseconds(100));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => RunAsync(api, tasks: Orders.Take(10).ToList(), ct: cancel.Token));

        Assert.Equal(4, (await AcceptedAsync()).Count);
        Assert.Empty(BatchState.Load(Dataset).InFlight);
    }

    [Theory]
    [InlineData(new[] { 10, 10, 10 }, 2, 1000L, new[] { 2, 1 })]
    [InlineData(new[] { 10, 10, 10 }, 5, 23L, new[] { 2, 1 })] // 11 + 11 bytes = 22 <= 23; the third would make 33
    [InlineData(new[] { 30, 5 }, 5, 20L, new[] { 1, 1 })] // a line over the byte limit is a file of its own
    public void Files_are_split_by_request_count_and_bytes(int[] lengths, int maxRequests, long maxBytes, int[] expected)
    {
        var lines = lengths.Select(n => new string('x', n)).ToList();

        Assert.Equal(expected, BatchFiles.Split(lines, maxRequests, maxBytes).Select(f => f.Count));
    }
}
