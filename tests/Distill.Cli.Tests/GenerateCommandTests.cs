using System.Diagnostics;
using System.Text.Json.Nodes;
using Distill.Data;

namespace Distill.Cli.Tests;

public sealed class GenerateCommandTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("distill-gen-cli-").FullName;
    private ScriptedTeacherServer _server = null!;
    private string _settings = null!;

    public async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable(ScriptedTeacherServer.KeyEnv, ScriptedTeacherServer.Key);
        _server = await ScriptedTeacherServer.StartAsync(60);
        var settings = new JsonObject
        {
            ["Paths"] = new JsonObject { ["Prompts"] = RepoPaths.Prompts, ["Cache"] = Path.Combine(_dir, "cache"), ["Datasets"] = Path.Combine(_dir, "datasets") },
            ["Teachers"] = new JsonArray(new JsonObject
            {
                ["Name"] = "scripted",
                ["Provider"] = "openai-compatible",
                ["Endpoint"] = _server.Endpoint.ToString(),
                ["Model"] = "world-teacher",
                ["ApiKeyEnv"] = ScriptedTeacherServer.KeyEnv,
                ["AttemptTimeout"] = "00:00:05",
                ["TotalTimeout"] = "00:00:20",
                ["MaxRetries"] = 2,
                ["RetryBaseDelay"] = "00:00:00.010",
                ["RetryMaxDelay"] = "00:00:00.100",
                ["InputPricePer1M"] = 1.0,
                ["OutputPricePer1M"] = 2.0,
            }),
        };
        _settings = Path.Combine(_dir, "appsettings.json");
        await File.WriteAllTextAsync(_settings, settings.ToJsonString());
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private string Out => Path.Combine(_dir, "datasets", "traces");

    private string[] Args(int count, params string[] extra) =>
        ["generate", "--config", _settings, "--recipe", "tool_trace", "--tasks", "world:train", "--count", count.ToString(System.Globalization.CultureInfo.InvariantCulture), "--out", Out, .. extra];

    private static async Task<(int Total, HashSet<string> Ids)> CommittedAsync(string dir)
    {
        var reader = DatasetReader.Open(dir);
        var ids = new List<string>();
        await foreach (var s in reader.ReadSamplesAsync()) ids.Add(s.Id);
        await foreach (var r in reader.ReadRejectsAsync()) ids.Add(r.Sample.Id);
        var set = ids.ToHashSet();
        Assert.Equal(ids.Count, set.Count); // no duplicates
        return (ids.Count, set);
    }

    [Fact]
    public async Task Generate_writes_every_task_and_prints_a_summary_without_the_key()
    {
        var result = await CliRun.RunAsync(Args(6, "--concurrency", "2"));

        Assert.True(result.ExitCode == 0, result.Output + result.Error);
        Assert.Contains("accepted", result.Output);
        Assert.Contains("cost per accepted sample", result.Output);
        var (total, _) = await CommittedAsync(Out);
        Assert.Equal(6, total);
        var manifest = await File.ReadAllTextAsync(Path.Combine(Out, DatasetSchema.ManifestFile));
        Assert.Contains("tool-agent", manifest);
        Assert.DoesNotContain(ScriptedTeacherServer.Key, manifest + result.Output + result.Error);
    }

    [Fact]
    public async Task Dialogue_recipe_runs_through_the_cli()
    {
        string[] args = ["generate", "--config", _settings, "--recipe", "dialogue", "--tasks", "world:train", "--count", "3", "--max-turns", "1", "--out", Out];

        var result = await CliRun.RunAsync(args);

        Assert.True(result.ExitCode == 0, result.Output + result.Error);
        var reader = DatasetReader.Open(Out);
        Assert.Equal(3, reader.SampleCount + reader.RejectCount);
        await foreach (var s in reader.ReadSamplesAsync()) Assert.Equal("dialogue", s.Kind);
    }

    [Fact]
    public async Task Dry_run_prints_tokens_and_cost_and_calls_nothing()
    {
        var result = await CliRun.RunAsync(Args(5, "--dry-run"));

        Assert.True(result.ExitCode == 0, result.Output + result.Error);
        Assert.Contains("prompt tokens", result.Output);
        Assert.Contains("cost (at most)", result.Output);
        Assert.Equal(0, _server.RequestCount);
        Assert.False(Directory.Exists(Out));
    }

    [Theory]
    [InlineData("--template", "nope", "no template 'nope'")]
    [InlineData("--teacher", "ghost", "no teacher named 'ghost'")]
    [InlineData("--shard", "3/2", "--shard '3/2'")]
    public async Task Bad_arguments_fail_with_one_line_before_any_teacher_call(string option, string value, string expected)
    {
        var result = await CliRun.RunAsync(Args(3, option, value));

        Assert.Equal(DistillApp.UserError, result.ExitCode);
        Assert.Contains(expected, result.Error);
        Assert.DoesNotContain("   at ", result.Error);
        Assert.Equal(0, _server.RequestCount);
    }

    [Fact]
    public async Task Broken_template_fails_with_one_line_before_any_teacher_call()
    {
        var prompts = Directory.CreateDirectory(Path.Combine(_dir, "prompts")).FullName;
        foreach (var file in Directory.GetFiles(RepoPaths.Prompts, "*.prompt")) File.Copy(file, Path.Combine(prompts, Path.GetFileName(file)));
        await File.WriteAllTextAsync(Path.Combine(prompts, "tool-agent.prompt"), "---\nid: tool-agent\nrecipe: tool_trace\n---\n## user\n{{$undeclared}}\n");

        var result = await CliRun.RunAsync(Args(3, "--set", $"Paths:Prompts={prompts}"));

        Assert.Equal(DistillApp.UserError, result.ExitCode);
        Assert.Contains("tool-agent.prompt", result.Error);
        Assert.DoesNotContain("   at ", result.Error);
        Assert.Equal(0, _server.RequestCount);
    }

    [Fact]
    public async Task Missing_task_file_fails_before_any_teacher_call()
    {
        string[] args = ["generate", "--config", _settings, "--recipe", "cot", "--tasks", Path.Combine(_dir, "missing.jsonl"), "--out", Out];

        var result = await CliRun.RunAsync(args);

        Assert.Equal(DistillApp.UserError, result.ExitCode);
        Assert.Contains("missing.jsonl' does not exist", result.Error);
        Assert.Equal(0, _server.RequestCount);
    }

    [Fact]
    public async Task Templates_list_shows_the_shipped_templates()
    {
        var result = await CliRun.RunAsync("templates", "list", "--config", _settings);

        Assert.True(result.ExitCode == 0, result.Output + result.Error);
        Assert.Contains("tool-agent", result.Output);
        Assert.Contains("cot-answer", result.Output);
    }

    [Fact]
    public async Task Resume_after_kill_loses_and_duplicates_nothing()
    {
        const int count = 40;
        _server.Latency = TimeSpan.FromMilliseconds(120);
        var dll = Path.Combine(AppContext.BaseDirectory, "distill.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _dir };
        start.ArgumentList.Add(dll);
        foreach (var a in Args(count, "--concurrency", "2", "--commit-every", "2")) start.ArgumentList.Add(a);
        start.Environment[ScriptedTeacherServer.KeyEnv] = ScriptedTeacherServer.Key;

        using var child = Process.Start(start)!;
        _ = child.StandardOutput.ReadToEndAsync();
        var stderr = child.StandardError.ReadToEndAsync();
        var clock = Stopwatch.StartNew();
        var manifest = Path.Combine(Out, DatasetSchema.ManifestFile);
        long seen = 0;
        var trace = new List<string>();
        while (clock.Elapsed < TimeSpan.FromSeconds(90) && !child.HasExited)
        {
            if (File.Exists(manifest))
            {
                var counts = DatasetManifest.Load(Out).Counts;
                seen = counts.Accepted + counts.Rejected;
                trace.Add($"{clock.ElapsedMilliseconds}ms:{seen}");
                if (seen >= 6) break;
            }
            await Task.Delay(50);
        }
        if (child.HasExited) Assert.Fail($"the child ended before it could be killed: {await stderr}");
        using (var kill = Process.Start("kill", ["-9", child.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync(); // no cleanup runs
        var killedAt = clock.ElapsedMilliseconds;
        await child.WaitForExitAsync();
        trace.Add($"killed at {killedAt}ms, exited at {clock.ElapsedMilliseconds}ms with {child.ExitCode}");

        Assert.NotEqual(0, child.ExitCode); // killed, not finished
        var (before, idsBefore) = await CommittedAsync(Out);
        Assert.True(before >= 6 && before < count, $"committed {before} at kill (saw {seen}; {string.Join(' ', trace.TakeLast(20))})");

        _server.Latency = TimeSpan.Zero;
        var resumed = await CliRun.RunAsync(Args(count, "--concurrency", "4"));

        Assert.True(resumed.ExitCode == 0, resumed.Output + resumed.Error);
        var (after, idsAfter) = await CommittedAsync(Out);
        Assert.Equal(count, after);
        Assert.Subset(idsAfter, idsBefore);
    }
    [Fact]
    public async Task A_teacher_that_refuses_logprobs_stops_the_run_with_one_line_exit_1_and_a_rerun_without_them_generates_every_task()
    {
        _server.RefuseLogprobs = true;

        var refused = await CliRun.RunAsync(Args(8, "--logprobs", "5", "--stop-after-errors", "3"));

        Assert.Equal(DistillApp.UserError, refused.ExitCode);
        var line = Assert.Single(refused.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("'scripted'", line);
        Assert.Contains("logprobs", line);
        Assert.Contains("--logprobs-optional", line);
        Assert.True(!File.Exists(Path.Combine(Out, DatasetSchema.ManifestFile)) || (await CommittedAsync(Out)).Total == 0, "nothing may be committed");

        var rerun = await CliRun.RunAsync(Args(8));

        Assert.True(rerun.ExitCode == 0, rerun.Output + rerun.Error);
        Assert.Equal(8, (await CommittedAsync(Out)).Total);
    }

    [Fact]
    public async Task Logprobs_optional_keeps_the_text_and_the_summary_says_how_many_came_without_logprobs()
    {
        _server.RefuseLogprobs = true;

        var result = await CliRun.RunAsync(Args(3, "--logprobs", "5", "--logprobs-optional"));

        Assert.True(result.ExitCode == 0, result.Output + result.Error);
        Assert.Contains("answered without logprobs (refused)", result.Output);
        Assert.Equal(3, (await CommittedAsync(Out)).Total);
        Assert.Contains("logprobs_refused", await File.ReadAllTextAsync(Path.Combine(Out, DatasetSchema.ManifestFile)));
    }

    [Fact]
    public async Task Budget_summary_shows_spent_released_and_the_estimates_error()
    {
        var result = await CliRun.RunAsync(Args(3, "--budget-usd", "10"));

        Assert.True(result.ExitCode == 0, result.Output + result.Error);
        Assert.Contains("budget: spent of limit", result.Output);
        Assert.Contains("budget: reserved, then released", result.Output);
        Assert.Contains("estimate error", result.Output);
    }

    [Fact]
    public async Task Kill_9_during_a_retry_rejects_run_loses_and_duplicates_nothing_and_the_rerun_finishes_the_retry()
    {
        const int count = 30;
        _server.Truncate = true;
        var first = await CliRun.RunAsync(Args(count, "--concurrency", "4"));
        Assert.True(first.ExitCode == 0, first.Output + first.Error);
        Assert.Equal(count, DatasetManifest.Load(Out).Counts.Rejected);
        _server.Truncate = false;
        _server.Latency = TimeSpan.FromMilliseconds(120);

        var dll = Path.Combine(AppContext.BaseDirectory, "distill.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _dir };
        start.ArgumentList.Add(dll);
        foreach (var a in Args(count, "--concurrency", "2", "--commit-every", "2", "--retry-rejects", "truncated")) start.ArgumentList.Add(a);
        start.Environment[ScriptedTeacherServer.KeyEnv] = ScriptedTeacherServer.Key;
        using var child = Process.Start(start)!;
        _ = child.StandardOutput.ReadToEndAsync();
        var stderr = child.StandardError.ReadToEndAsync();
        var clock = Stopwatch.StartNew();
        long retried = 0;
        while (clock.Elapsed < TimeSpan.FromSeconds(90) && !child.HasExited)
        {
            retried = DatasetManifest.Load(Out).Counts.Accepted;
            if (retried >= 4) break;
            await Task.Delay(50);
        }
        if (child.HasExited) Assert.Fail($"the child ended before it could be killed: {await stderr}");
        using (var kill = Process.Start("kill", ["-9", child.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
        await child.WaitForExitAsync();

        Assert.NotEqual(0, child.ExitCode);
        var (atKill, _) = await CommittedAsync(Out); // asserts one row per task: an accepted retry or its old reject, never both
        Assert.Equal(count, atKill);
        var manifest = DatasetManifest.Load(Out);
        Assert.InRange(manifest.Counts.Accepted, 4, count - 1);
        Assert.InRange(manifest.Attempts!.Count, (int)manifest.Counts.Accepted, count - 1); // the retries committed so far, no more

        _server.Latency = TimeSpan.Zero;
        var resumed = await CliRun.RunAsync(Args(count, "--concurrency", "4", "--retry-rejects"));

        Assert.True(resumed.ExitCode == 0, resumed.Output + resumed.Error);
        var (after, _) = await CommittedAsync(Out);
        Assert.Equal(count, after);
        var final = DatasetManifest.Load(Out);
        Assert.True(final.Counts.Accepted >= count - 3, $"only {final.Counts.Accepted} accepted");
        Assert.False(final.Counts.RejectedByReason.ContainsKey("truncated"), "every truncated reject was retried");
        Assert.Equal(count, final.Attempts!.Count);
        Assert.All(final.Attempts.Values, h =>
        {
            Assert.Equal("truncated", h[0].Reason);
            Assert.True(h.Count >= 2);
        });
    }
}
