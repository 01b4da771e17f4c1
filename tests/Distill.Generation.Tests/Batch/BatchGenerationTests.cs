using System.Text.Json;
using Distill.Core.Errors;
using Distill.Core.Samples;
using Distill.Data;
using Distill.Generation.Batch;
using Distill.Generation.Recipes;
using Distill.Generation.Runner;
using Distill.Generation.Tests.Runner;
using Distill.Teachers;
using Distill.Teachers.Batch;
using Distill.Teachers.Tests;
using Distill.Teachers.Tests.FaultServer;

namespace Distill.Generation.Tests.Batch;

/// <summary>
/// <c>generate --batch</c>'s teacher under the real runner, cot recipe, response cache and dataset writer, against a fake of the
/// Files and Batch APIs on loopback. Polls and the collect window are milliseconds here.
/// </summary>
public sealed class BatchGenerationTests : IDisposable
{
    private const string KeyEnv = "FAKE_BATCH_KEY";
    private static readonly IReadOnlyList<SeedTask> Orders = InstantOrderTeacher.Tasks(30);
    private static readonly InstantOrderTeacher OrderTeacher = new(Orders);
    private static readonly BatchOptions Fast = new()
    {
        PollDelay = TimeSpan.FromMilliseconds(2),
        PollMaxDelay = TimeSpan.FromMilliseconds(10),
        CollectWindow = TimeSpan.FromMilliseconds(100),
        CancelWait = TimeSpan.FromSeconds(5),
    };

    /// <summary>
    /// For tests that count rounds and batches: a round goes out once no request has arrived for the collect window, and on a
    /// busy 2-core CI machine a 100 ms pause while the runner renders tasks split round 1 into two batches (CI failure, 2026-12-04).
    /// </summary>
    private static readonly BatchOptions Steady = Fast with { CollectWindow = TimeSpan.FromSeconds(1) };

    private readonly string _dir = Directory.CreateTempSubdirectory("distill-batch-").FullName;
    private BatchProgress? _batch;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Dataset => Path.Combine(_dir, "dataset");

    /// <summary>The instant order teacher's answer to the question in the request body (so the cot verifier accepts it).</summary>
    private static ScriptedReply OrderReply(JsonElement body)
    {
        var question = body.GetProperty("messages").EnumerateArray().Last(m => m.GetProperty("role").GetString() == ChatRoles.User).GetProperty("content").GetString()!;
        var answer = OrderTeacher.CompleteAsync(new TeacherRequest { Messages = [ChatMessage.User(question)] }).GetAwaiter().GetResult();
        return new ScriptedReply(answer.Content);
    }

    private static TeacherOptions Teacher(FakeBatchApi api, bool azure) => new()
    {
        Name = "batch-teacher",
        Provider = azure ? TeacherProviders.AzureOpenAI : TeacherProviders.OpenAICompatible,
        Endpoint = api.Endpoint,
        Model = azure ? "gpt-4o-batch-deployment" : "gpt-4o-mini",
        ApiKeyEnv = KeyEnv,
        InputPricePer1M = 2,
        OutputPricePer1M = 8,
        MaxRetries = 0,
        AttemptTimeout = TimeSpan.FromSeconds(5),
    };

    private async Task<RunProgress> RunAsync(FakeBatchApi api, bool azure = false, BatchOptions? options = null, IReadOnlyList<SeedTask>? tasks = null,
        string recipe = SampleKinds.ChainOfThought, ITeacher? online = null, bool resume = false, CancellationToken ct = default)
    {
        var teacherOptions = Teacher(api, azure);
        using var client = new BatchApiClient(teacherOptions, environment: name => name == KeyEnv ? FakeBatchApi.Key : null);
        var batch = new BatchTeacher(client, teacherOptions, options ?? Fast, BatchState.Load(Dataset), online, ct);
        try
        {
            if (resume) await batch.ResumeAsync(ct);
            var template = ScriptedWorld.Library.Get(RecipeCatalog.DefaultTemplate(recipe));
            var caching = new CachingTeacher(batch, Path.Combine(_dir, "cache"), template.Version);
            var context = recipe switch
            {
                SampleKinds.ChainOfThought => new RecipeContext { Template = template, Teacher = caching },
                SampleKinds.Dialogue => ScriptedWorld.Context(caching, template.Id) with { SimulatorTemplate = ScriptedWorld.Library.Get("user-simulator"), MaxTurns = 3 },
                _ => ScriptedWorld.Context(caching, template.Id),
            };
            var runner = new GenerationRunner(RecipeCatalog.Create(recipe, context), caching, template.Version, new GenerateOptions
            {
                OutputDir = Dataset,
                Concurrency = 1000,
                CommitEvery = 10,
            });
            return await runner.RunAsync(tasks ?? Orders, null, ct);
        }
        finally
        {
            await batch.DisposeAsync();
            _batch = batch.Progress;
        }
    }

    private async Task<List<Sample>> AcceptedAsync(string? dataset = null)
    {
        var rows = new List<Sample>();
        await foreach (var s in DatasetReader.Open(dataset ?? Dataset).ReadSamplesAsync()) rows.Add(s);
        return rows;
    }

    private static string[] Lines(string upload) => upload.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The text contents of a request line's messages, one per line.</summary>
    private static string Texts(string line) => string.Join('\n', JsonDocument.Parse(line).RootElement.GetProperty("body").GetProperty("messages").EnumerateArray()
        .Select(m => m.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : ""));

    [Fact]
    public async Task Openai_batches_split_by_file_limits_map_back_every_row_at_the_batch_price()
    {
        await using var api = await FakeBatchApi.StartAsync(azure: false, OrderReply);
        api.PollsInProgress = 2;

        var progress = await RunAsync(api, options: Steady with { MaxRequestsPerFile = 8 });

        Assert.Equal(Orders.Count, progress.Accepted);
        Assert.Equal([8, 8, 8, 6], api.Uploads.Select(u => Lines(u).Length).Order().Reverse());
        Assert.All(api.Uploads.SelectMany(Lines), l => Assert.Equal("/v1/chat/completions", JsonDocument.Parse(l).RootElement.GetProperty("url").GetString()));
        Assert.Equal(4, api.Calls.Count(c => c == "POST /v1/batches"));
        Assert.All(api.Credentials, c => Assert.Equal($"Bearer {FakeBatchApi.Key}", c));
        Assert.All(api.Statuses.GroupBy(s => s.Batch), b => Assert.Equal(["in_progress", "in_progress", "finalizing", "completed"], b.Select(s => s.Status))); // validating: the create answer
        Assert.Equal(1, _batch!.Rounds);
        var rows = await AcceptedAsync();
        var online = (60 * 2 + 50 * 8) / 1e6;
        Assert.All(rows, r => Assert.Equal(online * 0.5, r.CostUsd, 12));
        Assert.All(rows, r => Assert.Equal((TeacherProviders.OpenAICompatible, "gpt-4o-mini"), (r.Teacher!.Provider, r.Teacher.Model)));
        Assert.All(rows, r => Assert.True(r.Verified));
        Assert.Empty(BatchState.Load(Dataset).InFlight);
        Assert.DoesNotContain(FakeBatchApi.Key, await File.ReadAllTextAsync(BatchState.PathIn(Dataset)));
    }

    [Fact]
    public async Task Azure_batches_use_the_openai_paths_api_version_key_header_and_deployment()
    {
        await using var api = await FakeBatchApi.StartAsync(azure: true, OrderReply);

        var progress = await RunAsync(api, azure: true, tasks: Orders.Take(5).ToList());

        Assert.Equal(5, progress.Accepted);
        Assert.Contains("POST /openai/files?api-version=2024-10-21", api.Calls);
        Assert.Contains("POST /openai/batches?api-version=2024-10-21", api.Calls);
        Assert.All(api.Credentials, c => Assert.Equal(FakeBatchApi.Key, c));
        var line = JsonDocument.Parse(Lines(api.Uploads[0])[0]).RootElement;
        Assert.Equal("/chat/completions", line.GetProperty("url").GetString());
        Assert.Equal("gpt-4o-batch-deployment", line.GetProperty("body").GetProperty("model").GetString());
        Assert.Equal(("azure-openai", "gpt-4o-batch-deployment"), ((await AcceptedAsync())[0].Teacher!.Provider, (await AcceptedAsync())[0].Teacher!.Model));
    }

    [Fact]
    public async Task Batch_rows_are_the_online_rows_at_the_batch_price()
    {
        var tasks = Orders.Take(6).ToList();
        await using var server = await TestTeachers.StartServer(o => o.Reply = OrderReply);
        var onlineOptions = TestTeachers.Options(server);
        using var registry = TestTeachers.Registry(null, onlineOptions);
        var template = ScriptedWorld.Library.Get("cot-answer");
        var onlineDir = Path.Combine(_dir, "online");
        var caching = new CachingTeacher(registry.Get(onlineOptions.Name), Path.Combine(_dir, "online-cache"), template.Version);
        await new GenerationRunner(new ChainOfThoughtRecipe(new RecipeContext { Template = template, Teacher = caching }), caching, template.Version,
            new GenerateOptions { OutputDir = onlineDir }).RunAsync(tasks);
        await using var api = await FakeBatchApi.StartAsync(azure: false, OrderReply);

        await RunAsync(api, tasks: tasks);

        var online = (await AcceptedAsync(onlineDir)).OrderBy(r => r.Id).ToList();
        var batch = (await AcceptedAsync()).OrderBy(r => r.Id).ToList();
        Assert.Equal(6, online.Count);
        Assert.Equal(online.Select(r => r.Id), batch.Select(r => r.Id));
        Assert.Equal(online.Select(r => JsonSerializer.Serialize(r.Messages)), batch.Select(r => JsonSerializer.Serialize(r.Messages)));
        Assert.Equal(online.Select(r => (r.Verified, r.Score, r.Params)), batch.Select(r => (r.Verified, r.Score, r.Params)));
    }

    [Fact]
    public async Task Failed_and_expired_lines_go_into_the_next_round_and_every_task_is_accounted_for()
    {
        await using var api = await FakeBatchApi.StartAsync(azure: false, OrderReply);
        var n = 0;
        api.Outcome = (_, attempt) => attempt > 1 ? LineOutcome.Ok : (++n % 10) switch
        {
            0 => LineOutcome.ServerError,
            7 => LineOutcome.Expired,
            3 => LineOutcome.BadRequest,
            5 => LineOutcome.ContentFilter,
            _ => LineOutcome.Ok,
        };

        var progress = await RunAsync(api, options: Steady);

        Assert.Equal(Orders.Count, progress.Accepted + progress.RejectedCount);
        Assert.Equal(3, progress.Rejected.GetValueOrDefault(TeacherRejectReasons.RequestRejected)); // 400s are not re-submitted
        Assert.Equal(3, progress.Rejected.GetValueOrDefault(TeacherRejectReasons.ContentFilter));
        Assert.Equal(Orders.Count - 6, progress.Accepted);
        Assert.Equal(2, _batch!.Rounds);
        Assert.Equal(6, _batch.Resubmitted);
        Assert.Equal(Orders.Count + 6, _batch.Submitted);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task An_expired_batch_or_a_partial_output_file_sends_the_missing_lines_into_the_next_round(bool expire)
    {
        await using var api = await FakeBatchApi.StartAsync(azure: false, OrderReply);
        if (expire) api.ExpireAfterLines = 4;
        else api.DropLinesAfter = 4;
        var created = 0;
        api.OnCreated = _ =>
        {
            if (++created == 2) (api.ExpireAfterLines, api.DropLinesAfter) = (null, null);
        };

        var progress = await RunAsync(api, options: Steady, tasks: Orders.Take(10).ToList());

        Assert.Equal(10, progress.Accepted);
        Assert.Equal(2, _batch!.Rounds);
        Assert.Equal(6, _batch.Resubmitted);
        Assert.Equal(6, Lines(api.Uploads[1]).Length);
        Assert.Contains(expire ? "expired" : "completed", api.Statuses.Select(s => s.Status));
    }

    [Fact]
    public async Task Lines_failing_every_attempt_fall_back_to_online_calls_when_asked()
    {
        await using var api = await FakeBatchApi.StartAsync(azure: false, OrderReply);
        api.Outcome = (_, _) => LineOutcome.Expired;

        var progress = await RunAsync(api, options: Steady with { MaxAttempts = 2, FallbackOnline = true }, tasks: Orders.Take(6).ToList(), online: OrderTeacher);

        Assert.Equal(6, progress.Accepted);
        Assert.Equal(2, _batch!.Rounds);
        Assert.Equal(6, _batch.SentOnline);
    }

    [Fact]
    public async Task Without_the_online_fallback_lines_failing_every_attempt_are_left_for_the_next_run()
    {
        await using var api = await FakeBatchApi.StartAsync(azure: false, OrderReply);
        api.Outcome = (_, attempt) => attempt <= 2 ? LineOutcome.ServerError : LineOutcome.Ok;
        var tasks = Orders.Take(6).ToList();

        var first = await RunAsync(api, options: Fast with { MaxAttempts = 2 }, tasks: tasks);
        var second = await RunAsync(api, options: Fast with { MaxAttempts = 2 }, tasks: tasks);

        Assert.Equal(0, first.Accepted);
        Assert.Equal(6, first.Uncommitted.GetValueOrDefault(TeacherRejectReasons.Unavailable));
        Assert.Equal(6, second.Accepted);
        Assert.Equal(6, (await AcceptedAsync()).Count);
    }

    [Fact]
    public async Task A_batch_that_fails_validation_stops_the_run_with_the_providers_reason()
    {
        await using var api = await FakeBatchApi.StartAsync(azure: false, OrderReply);
        api.FailValidation = true;

        var e = await Assert.ThrowsAnyAsync<DistillException>(() => RunAsync(api, tasks: Orders.Take(3).ToList()));

        Assert.Contains("the model does not support batches", e.Message);
        Assert.Empty(BatchState.Load(Dataset).InFlight);
    }

    [Fact]
    public async Task Cancelling_a_run_cancels_its_batch_and_keeps_the_lines_it_completed()
    {
        await using var api = await FakeBatchApi.StartAsync(azure: false, OrderReply);
        api.PollsInProgress = 1_000_000;
        api.LinesDoneBeforeCancel = 4;
        using var cancel = new CancellationTokenSource();
        api.OnCreated = _ => cancel.CancelAfter(TimeSpan.FromMilliseconds(50));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => RunAsync(api, tasks: Orders.Take(10).ToList(), ct: cancel.Token));

        Assert.Contains("cancelled", api.Statuses.Select(s => s.Status));
        Assert.Equal(4, (await AcceptedAsync()).Count);
        Assert.Equal((1, 4), (_batch!.CancelledBatches, _batch.CompletedInCancelled));
        Assert.Empty(BatchState.Load(Dataset).InFlight);
    }

    [Fact]
    public async Task Resume_collects_the_batch_a_stopped_run_left_in_flight_and_submits_nothing_again()
    {
        // Run 1 stops while its batch runs, and the provider never confirms the cancel: the batch id stays in the state file,
        // as after a kill -9.
        await using var api = await FakeBatchApi.StartAsync(azure: false, OrderReply);
        api.PollsInProgress = 1_000_000;
        api.HangOnCancel = true;
        using var cancel = new CancellationTokenSource();
        api.OnCreated = _ => cancel.CancelAfter(TimeSpan.FromMilliseconds(50));
        var tasks = Orders.Take(10).ToList();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => RunAsync(api, options: Fast with { CancelWait = TimeSpan.FromMilliseconds(200) }, tasks: tasks, ct: cancel.Token));
        Assert.Single(BatchState.Load(Dataset).InFlight);
        Assert.False(File.Exists(Path.Combine(Dataset, DatasetSchema.ManifestFile)) && (await AcceptedAsync()).Count > 0);

        // Run 2 (--resume): the batch finishes; its results are used, nothing is submitted again, and every task is there once.
        api.HangOnCancel = false;
        api.PollsInProgress = 1;
        var progress = await RunAsync(api, resume: true, tasks: tasks);

        Assert.Equal(10, progress.Accepted);
        Assert.Equal(10, _batch!.Recovered);
        Assert.Single(api.Uploads);
        Assert.Empty(BatchState.Load(Dataset).InFlight);
        var rows = await AcceptedAsync();
        Assert.Equal(10, rows.Select(r => r.Id).Distinct().Count());
        Assert.Equal(10, rows.Count);
    }

    [Fact]
    public async Task Tool_traces_advance_one_turn_per_round_with_tools_run_locally_in_between()
    {
        var world = ScriptedWorld.Tasks(4);
        await using var api = await FakeBatchApi.StartAsync(azure: false, ScriptedWorld.Reply(world));

        var progress = await RunAsync(api, tasks: world.Select(t => t.ToSeedTask()).ToList(), recipe: SampleKinds.ToolTrace);

        Assert.Equal(4, progress.Accepted + progress.RejectedCount);
        Assert.True(progress.Accepted >= 3, string.Join(", ", progress.Rejected.Select(r => $"{r.Key} {r.Value}")));
        Assert.True(_batch!.Rounds >= 2, $"{_batch.Rounds} rounds");
        // One request per open conversation per round: no file holds two turns of one sample.
        foreach (var upload in api.Uploads)
        {
            var questions = Lines(upload)
                .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("body").GetProperty("messages").EnumerateArray()
                    .First(m => m.GetProperty("role").GetString() == ChatRoles.User).GetProperty("content").GetString())
                .ToList();
            Assert.Equal(questions.Count, questions.Distinct().Count());
        }
        var rows = await AcceptedAsync();
        Assert.All(rows, r => Assert.Contains(r.Messages, m => m.Role == ChatRoles.Tool));
    }

    /// <summary>
    /// The World's demonstrations for the agent; as the simulated customer, one follow-up question and then the stop marker
    /// (decided from the transcript in the request, so a re-submitted line gets the same answer).
    /// </summary>
    private static Func<JsonElement, ScriptedReply> DialogueReply(IReadOnlyList<Distill.World.Tasks.WorldTask> world)
    {
        var agent = ScriptedWorld.Reply(world);
        return body =>
        {
            var text = body.GetRawText();
            if (!text.Contains("You play a customer", StringComparison.Ordinal)) return agent(body);
            var transcript = body.GetProperty("messages").EnumerateArray().Last(m => m.GetProperty("role").GetString() == ChatRoles.User).GetProperty("content").GetString()!;
            var customerLines = transcript.Split('\n').Count(l => l.StartsWith("customer: ", StringComparison.Ordinal));
            return new ScriptedReply(customerLines < 2 ? "Thanks! Could you confirm that once more?" : "[DONE]");
        };
    }

    [Fact]
    public async Task Dialogues_advance_one_turn_per_round_and_failed_or_expired_lines_rejoin_their_conversation_in_a_later_round()
    {
        var world = ScriptedWorld.Tasks(6);
        await using var api = await FakeBatchApi.StartAsync(azure: false, DialogueReply(world));
        // Every third line fails on its first attempt, alternately with a 500 and as expired: agent and customer turns alike.
        var n = 0;
        api.Outcome = (_, attempt) => attempt > 1 ? LineOutcome.Ok : (Interlocked.Increment(ref n) % 6) switch
        {
            0 => LineOutcome.ServerError,
            3 => LineOutcome.Expired,
            _ => LineOutcome.Ok,
        };

        var progress = await RunAsync(api, tasks: world.Select(t => t.ToSeedTask()).ToList(), recipe: SampleKinds.Dialogue);

        Assert.Equal(world.Count, progress.Accepted + progress.RejectedCount);
        Assert.True(progress.Accepted == world.Count, string.Join(", ", progress.Rejected.Select(r => $"{r.Key} {r.Value}")));
        Assert.True(_batch!.Resubmitted > 0, "no line was re-submitted");
        Assert.Equal(api.Uploads.Sum(u => Lines(u).Length), _batch.Submitted);
        // Per conversation: the agent's tool calls and answer, the customer's follow-up, the agent's answer, the customer's
        // [DONE]: at least four rounds, more for the lines that failed.
        Assert.True(_batch.Rounds >= 4, $"{_batch.Rounds} rounds");
        // No file holds two turns of one conversation (a re-queued line holds its conversation back).
        Assert.Equal(world.Count, world.Select(t => t.Question).Distinct().Count());
        foreach (var upload in api.Uploads)
        {
            var conversations = Lines(upload).Select(l => world.Single(t => Texts(l).Contains(t.Question, StringComparison.Ordinal)).Question).ToList();
            Assert.Equal(conversations.Count, conversations.Distinct().Count());
        }
        var rows = await AcceptedAsync();
        Assert.Equal(world.Count, rows.Select(r => r.Id).Distinct().Count());
        Assert.All(rows, r =>
        {
            Assert.Equal(SampleKinds.Dialogue, r.Kind);
            Assert.Equal(["Thanks! Could you confirm that once more?"], r.Messages.Where(m => m.Role == ChatRoles.User).Skip(1).Select(m => m.Content));
            Assert.Equal(2, r.Messages.Count(m => m.Role == ChatRoles.Assistant && m.ToolCalls.Count == 0));
            Assert.DoesNotContain(r.Messages, m => (m.Content ?? "").Contains("You play a customer", StringComparison.Ordinal));
        });
        Assert.Empty(BatchState.Load(Dataset).InFlight);
    }

    [Fact]
    public async Task A_refused_key_is_redacted_from_the_error()
    {
        await using var api = await FakeBatchApi.StartAsync(azure: false, OrderReply);
        using var client = new BatchApiClient(Teacher(api, azure: false), environment: _ => "sk-wrong-SECRET-42");

        var e = await Assert.ThrowsAsync<DistillException>(() => client.UploadAsync("x.jsonl", "{}\n"u8.ToArray(), CancellationToken.None));

        Assert.Contains("HTTP 401", e.Message);
        Assert.DoesNotContain("sk-wrong-SECRET-42", e.Message);
        Assert.Contains("***", e.Message);
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
