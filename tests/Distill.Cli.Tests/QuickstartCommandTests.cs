using System.Globalization;
using System.Text.Json;
using Distill.Data;

namespace Distill.Cli.Tests;

/// <summary>
/// `distill evaluate` and `distill quickstart` at a scale a test can afford. A full quickstart needs minutes of CPU training to make
/// a teacher worth distilling (docs/benchmarks.md records a full run); here every stage's plumbing runs, and the pipeline stops
/// where a too-weak teacher must stop it: with one line saying so and how to fix it.
/// </summary>
public sealed class QuickstartCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("distill-quickstart-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Inv(int n) => n.ToString(CultureInfo.InvariantCulture);

    [Fact]
    public async Task Generate_with_the_built_in_scripted_teacher_writes_verified_demonstrations()
    {
        var output = Path.Combine(_dir, "demos");
        var result = await CliRun.RunAsync("--set", $"Paths:Prompts={RepoPaths.Prompts}", "--set", $"Paths:Cache={Path.Combine(_dir, "cache")}",
            "generate", "--recipe", "tool_trace", "--template", "world-agent", "--teacher", "world-scripted", "--tasks", "world:train", "--count", "30", "--out", output);
        Assert.True(result.ExitCode == 0, result.Error);
        var reader = DatasetReader.Open(output);
        Assert.True(reader.SampleCount >= 10, $"only {reader.SampleCount} demonstrations");
        await foreach (var sample in reader.ReadSamplesAsync())
        {
            Assert.True(sample.Verified, sample.Id);
            Assert.Equal("scripted", sample.Teacher!.Provider);
        }
    }

    [Fact]
    public async Task Scripted_teacher_refuses_task_files_it_cannot_answer()
    {
        var tasks = Path.Combine(_dir, "tasks.jsonl");
        await File.WriteAllTextAsync(tasks, """{"input":"hello"}""" + "\n");
        var result = await CliRun.RunAsync("--set", $"Paths:Prompts={RepoPaths.Prompts}", "generate", "--recipe", "tool_trace", "--template", "world-agent",
            "--teacher", "world-scripted", "--tasks", tasks, "--out", Path.Combine(_dir, "x"));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("world-scripted only answers the embedded world's tasks", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Evaluate_scores_a_model_on_held_out_tasks_writes_a_report_and_resumes()
    {
        var model = Path.Combine(_dir, "model");
        Assert.Equal(0, (await CliRun.RunAsync("model", "init", "--config", "world-student-small", "--out", model)).ExitCode);
        var output = Path.Combine(_dir, "eval");
        string[] args = ["--set", $"Paths:Prompts={RepoPaths.Prompts}", "evaluate", "--model", $"random={model}", "--count", "3", "--max-steps", "2", "--out", output];

        var first = await CliRun.RunAsync(args);
        Assert.True(first.ExitCode == 0, first.Error);
        Assert.Contains("random", first.Output, StringComparison.Ordinal);
        var report = await File.ReadAllTextAsync(Path.Combine(output, "report.md"));
        Assert.Contains("| random | 3 |", report, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(output, "charts", "success_by_model.png")));
        using (var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "evaluation.json"))))
        {
            var only = Assert.Single(json.RootElement.EnumerateArray());
            Assert.Equal(3, only.GetProperty("tasks").GetInt32());
            // A random model cannot solve a task; anything else would mean the verifier is not checking.
            Assert.Equal(0, only.GetProperty("succeeded").GetInt32());
        }
        var trajectories = Directory.GetDirectories(output, "random-*").Single();
        Assert.Equal(3, DatasetReader.Open(trajectories).SampleCount + DatasetReader.Open(trajectories).RejectCount);

        // Same weights, same tasks: every trajectory is already committed, so nothing is asked of the model again.
        var second = await CliRun.RunAsync(args);
        Assert.True(second.ExitCode == 0, second.Error);
        Assert.Equal(3, DatasetReader.Open(trajectories).SampleCount + DatasetReader.Open(trajectories).RejectCount);
        Assert.Single(Directory.GetDirectories(output, "random-*"));
    }

    [Fact]
    public async Task Evaluate_samples_attempts_for_pass_at_k_and_compares_named_models()
    {
        var model = Path.Combine(_dir, "model");
        Assert.Equal(0, (await CliRun.RunAsync("model", "init", "--config", "world-student-small", "--out", model)).ExitCode);
        var output = Path.Combine(_dir, "eval");
        var result = await CliRun.RunAsync("--set", $"Paths:Prompts={RepoPaths.Prompts}", "evaluate", "--model", $"a={model}", "--model", $"b={model}",
            "--count", "1", "--max-steps", "1", "--samples", "2", "--temperature", "1.0", "--compare", "b vs a", "--out", output);
        Assert.True(result.ExitCode == 0, result.Error);
        var report = await File.ReadAllTextAsync(Path.Combine(output, "report.md"));
        Assert.Contains("| a | 2 | 1.0 | 0.0 % | 0.0 % | 0.0 % |", report, StringComparison.Ordinal);
        Assert.Contains("- **b vs a** on 1 shared tasks: b alone solved 0, a alone 0 (both 0, neither 1); p = 1.0000: no task tells them apart.", report, StringComparison.Ordinal);
        var sampled = Directory.GetDirectories(Directory.GetDirectories(output, "a-*").Single(), "sampled-t1").Single();
        Assert.Equal(2, DatasetReader.Open(sampled).SampleCount + DatasetReader.Open(sampled).RejectCount);
    }

    [Theory]
    [InlineData("--samples", "-1", "--samples cannot be negative")]
    [InlineData("--compare", "x vs random", "--compare names 'x', which is not evaluated")]
    [InlineData("--compare", "random", "is not \"CANDIDATE vs BASELINE\"")]
    public async Task Evaluate_refuses_settings_it_cannot_honour_before_loading_anything(string option, string value, string message)
    {
        var result = await CliRun.RunAsync("--set", $"Paths:Prompts={RepoPaths.Prompts}", "evaluate", "--model", $"random={_dir}", option, value);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains(message, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Evaluate_without_anything_to_evaluate_says_what_to_pass()
    {
        var result = await CliRun.RunAsync("--set", $"Paths:Prompts={RepoPaths.Prompts}", "evaluate", "--count", "2");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("nothing to evaluate", result.Error, StringComparison.Ordinal);
        Assert.Contains("--model", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Quickstart_rejects_a_nonsense_setting_before_doing_anything()
    {
        var result = await CliRun.RunAsync("quickstart", "--out", Path.Combine(_dir, "q"), "--teacher-steps", "0");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--teacher-steps must be at least 1", result.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_dir, "q")));
    }

    [Fact]
    public async Task Quickstart_runs_its_stages_and_stops_with_advice_when_the_teacher_is_too_weak()
    {
        var output = Path.Combine(_dir, "q");
        var cache = Path.Combine(_dir, "cache");
        string[] args = ["--set", $"Paths:Prompts={RepoPaths.Prompts}", "--set", $"Paths:Cache={cache}", "quickstart", "--out", output,
            "--demos", "12", "--labelled", "4", "--teacher-preset", "world-student-small", "--teacher-steps", "1", "--traces", "2", "--min-traces", "3"];
        var result = await CliRun.RunAsync(args);

        Assert.Equal(1, result.ExitCode);
        // Stage 1: demonstrations; stage 2: a teacher model folder in the cache; stage 3: traces generated through the served teacher.
        Assert.True(DatasetReader.Open(Path.Combine(output, "datasets", "demonstrations")).SampleCount > 0);
        Assert.True(DatasetReader.Open(Path.Combine(output, "datasets", "labelled")).SampleCount > 0);
        var teacher = Assert.Single(Directory.GetDirectories(Path.Combine(cache, "teachers")));
        Assert.True(File.Exists(Path.Combine(teacher, "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(teacher, "quickstart-teacher.json")));
        var traces = DatasetReader.Open(Path.Combine(output, "datasets", "teacher-traces"));
        Assert.Equal(2, traces.SampleCount + traces.RejectCount);
        Assert.Contains("$ distill train ", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("distill train --config", result.Output, StringComparison.Ordinal);
        // Commands are echoed as plain text: markup would turn "world:train:T2" into "world🚆T2".
        Assert.Contains("world:train:", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("🚆", result.Output, StringComparison.Ordinal);
        var line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.Contains("verified traces, fewer than --min-traces 3", line, StringComparison.Ordinal);
        Assert.Contains("--retrain-teacher --teacher-steps 2", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);

        // The teacher is trained once: a second run with the same recipe reuses the cached folder.
        var again = await CliRun.RunAsync(args);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("cached teacher", again.Output, StringComparison.Ordinal);
        Assert.Single(Directory.GetDirectories(Path.Combine(cache, "teachers")));
    }

    [Fact]
    public async Task Quickstart_fast_runs_every_stage_and_reports_numbers_from_a_real_evaluation()
    {
        var output = Path.Combine(_dir, "fast");
        var result = await CliRun.RunAsync("--set", $"Paths:Prompts={RepoPaths.Prompts}", "--set", $"Paths:Cache={Path.Combine(_dir, "cache")}",
            "quickstart", "--fast", "--out", output);

        Assert.True(result.ExitCode == 0, result.Error);
        var report = await File.ReadAllTextAsync(Path.Combine(output, "report.md"));
        Assert.Contains("## Did distillation help?", report, StringComparison.Ordinal);
        Assert.Contains("| 4a baseline |", report, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "evaluation.json")));
        var models = json.RootElement.EnumerateArray().ToList();
        Assert.Equal(["teacher", "baseline", "seq-kd", "kd", "kd-lora-T0"], models.Select(m => m.GetProperty("model").GetString()));
        foreach (var model in models)
        {
            // Every reported number comes from trajectories on disk: one verified-or-rejected row per task.
            Assert.Equal(10, model.GetProperty("tasks").GetInt32());
            var trajectories = model.GetProperty("dataset").GetString()!;
            Assert.Equal(10, DatasetReader.Open(trajectories).SampleCount + DatasetReader.Open(trajectories).RejectCount);
        }
        foreach (var run in new[] { "student-baseline", "student-seq-kd", "student-kd" })
        {
            Assert.True(File.Exists(Path.Combine(output, "runs", run, "model.safetensors")), run);
            Assert.Equal("compact", JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "runs", run, "chat_template_options.json"))).RootElement.GetProperty("tool_format").GetString());
        }
    }
}
