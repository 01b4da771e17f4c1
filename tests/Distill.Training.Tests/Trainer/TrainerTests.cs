using System.Diagnostics;
using System.Text.Json.Nodes;
using Distill.Core.Errors;
using Distill.Models.Checkpoints;
using Distill.Training.Config;
using Distill.Training.Metrics;
using Distill.Training.Trainer;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;

namespace Distill.Training.Tests.Trainer;

[Collection(TrainingCollection.Name)]
public class TrainerTests(TrainingFixture fx)
{
    private static List<double> Losses(string runDir) =>
        MetricsLog.Read(Path.Combine(runDir, MetricsLog.FileName)).Where(r => r.Kind == "train").Select(r => r["loss"]!.Value).ToList();

    private Task<TrainResult> Train(string runDir, Action<JsonObject>? edit = null) =>
        TrainerHost.RunAsync(TrainConfig.Load(fx.WriteConfig(runDir, edit)), NullLogger.Instance);

    [Fact]
    public async Task A_few_sft_steps_reduce_the_loss_and_leave_a_servable_run_folder()
    {
        var run = fx.NewDir("sft");
        var result = await Train(run, o => { o["steps"] = 30; o["optimizer"]!["lr"] = 2e-2; o["log_every"] = 10; });
        var losses = Losses(run);
        Assert.Equal(30, losses.Count);
        Assert.True(losses.Skip(25).Average() < losses.Take(5).Average() - 0.5, $"loss {losses[0]} -> {losses[^1]}");
        Assert.NotNull(result.BestValLoss);
        foreach (var f in new[] { "config.json", "model.safetensors", "tokenizer.json", "metrics.jsonl", "report.md", "checkpoint/trainer_state.json", "checkpoint/optimizer.safetensors" })
            Assert.True(File.Exists(Path.Combine(run, f)), f);
        using var reloaded = ModelFolder.Load(run);
        Assert.True(result.TokensPerSecond > 0);
    }

    [Theory]
    [InlineData("sft", null)]
    [InlineData("topk_kd", null)]
    [InlineData("online_kd", "forward_kl")]
    [InlineData("online_kd", "reverse_kl")]
    [InlineData("online_kd", "jsd")]
    [InlineData("online_kd", "skew_kl")]
    [InlineData("cot", null)]
    public async Task Each_loss_family_trains_end_to_end(string kind, string? divergence)
    {
        var run = fx.NewDir(kind);
        var result = await Train(run, o =>
        {
            o["steps"] = 3;
            o["loss"] = new JsonObject { ["kind"] = kind, ["divergence"] = divergence ?? "forward_kl", ["top_k"] = 3, ["alpha"] = new JsonObject { ["kind"] = "linear", ["start"] = 0.9, ["end"] = 0.5 } };
            if (kind == "online_kd") o["teacher"] = fx.TeacherDir;
        });
        var records = MetricsLog.Read(Path.Combine(run, MetricsLog.FileName)).Where(r => r.Kind == "train").ToList();
        Assert.Equal(3, records.Count);
        Assert.All(records, r => Assert.True(double.IsFinite(r["loss"]!.Value)));
        if (kind is "topk_kd" or "online_kd") Assert.All(records, r => Assert.True(r["kd"] > 0));
        Assert.Equal(3, result.Steps);
    }

    [Fact]
    public async Task Staged_kd_with_hidden_state_term_switches_from_top_k_to_online()
    {
        var run = fx.NewDir("staged");
        await Train(run, o =>
        {
            o["steps"] = 4;
            o["teacher"] = fx.TeacherDir;
            o["loss"] = new JsonObject { ["kind"] = "topk_kd", ["top_k"] = 3, ["sparse_fraction"] = 0.5, ["hidden_weight"] = 0.5 };
        });
        var records = MetricsLog.Read(Path.Combine(run, MetricsLog.FileName)).Where(r => r.Kind == "train").ToList();
        Assert.Equal(4, records.Count);
        Assert.All(records, r => Assert.True(r["hidden"] > 0));
    }

    [Fact]
    public async Task Stopping_and_resuming_in_process_continues_the_same_loss_curve()
    {
        var full = fx.NewDir("full");
        await Train(full, o => o["steps"] = 10);
        var resumed = fx.NewDir("resumed");
        var first = await Train(resumed, o => { o["steps"] = 10; o["stop_after_steps"] = 6; });
        Assert.False(first.Completed);
        await Train(resumed, o => o["steps"] = 10);
        var a = Losses(full);
        var b = Losses(resumed);
        Assert.Equal(10, b.Count);
        for (var i = 0; i < a.Count; i++) Assert.Equal(a[i], b[i], 6);
    }

    [Fact]
    public async Task Cancelling_checkpoints_the_finished_steps_and_resuming_repeats_none()
    {
        var full = fx.NewDir("full-for-cancel");
        await Train(full, o => { o["steps"] = 8; o["checkpoint_every"] = 100; });
        var cancelled = fx.NewDir("cancelled");
        using var cancel = new CancellationTokenSource();
        // Cancel from inside step 5's progress report, as Ctrl+C would arrive mid-run; checkpoint_every is far away.
        var progress = new Callback(p => { if (p.Step == 5) cancel.Cancel(); });
        var config = TrainConfig.Load(fx.WriteConfig(cancelled, o => { o["steps"] = 8; o["checkpoint_every"] = 100; }));
        await Assert.ThrowsAsync<OperationCanceledException>(() => TrainerHost.RunAsync(config, NullLogger.Instance, null, cancel.Token, progress));
        Assert.Equal(5, Checkpoint.ReadState(Checkpoint.Find(cancelled)!).Step);

        await Train(cancelled, o => { o["steps"] = 8; o["checkpoint_every"] = 100; });
        var a = Losses(full);
        var b = Losses(cancelled);
        Assert.Equal(8, b.Count);
        for (var i = 0; i < a.Count; i++) Assert.Equal(a[i], b[i], 6);
    }

    private sealed class Callback(Action<TrainProgress> report) : IProgress<TrainProgress>
    {
        public void Report(TrainProgress value) => report(value);
    }

    [Fact]
    public async Task Running_a_finished_run_again_trains_nothing_more()
    {
        var run = fx.NewDir("finished");
        await Train(run, o => o["steps"] = 3);
        var report = File.ReadAllText(Path.Combine(run, "report.md"));
        var again = await Train(run, o => o["steps"] = 3);
        Assert.Equal(3, again.Steps);
        Assert.True(again.AlreadyFinished);
        Assert.Equal(3, Losses(run).Count);
        // The report keeps the throughput measured when the run trained (a re-run measures nothing).
        Assert.Equal(report, File.ReadAllText(Path.Combine(run, "report.md")));
        File.Delete(Path.Combine(run, "report.md"));
        await Train(run, o => o["steps"] = 3);
        Assert.True(File.Exists(Path.Combine(run, "report.md")));
    }

    [Fact]
    public async Task Checkpoint_round_trip_restores_weights_optimizer_and_position()
    {
        var run = fx.NewDir("ckpt");
        await Train(run, o => { o["steps"] = 4; o["checkpoint_every"] = 2; });
        var state = Checkpoint.ReadState(Checkpoint.Find(run)!);
        Assert.Equal(4, state.Step);
        Assert.Equal(4, state.OptimizerStep);
        Assert.True(state.Finished);
        using var parts = await TrainerHost.PrepareAsync(TrainConfig.Load(fx.WriteConfig(run, o => o["steps"] = 4)), NullLogger.Instance);
        Assert.Equal(4, parts.State.Step);
        Assert.Equal(state.DataPosition, parts.Train.Position);
        Assert.Equal(4, parts.Optimizer.StepCount);
        Assert.NotEmpty(parts.Optimizer.StateTensors());
        using var saved = ModelFolder.Load(run);
        var live = parts.Student.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in saved.named_parameters())
            Assert.Equal(0.0, live[name].sub(p).abs().max().item<float>());
    }

    [Fact]
    public async Task Invalid_configs_fail_with_one_clear_line_before_anything_starts()
    {
        var run = fx.NewDir("bad");
        var e = await Assert.ThrowsAnyAsync<DistillException>(() => Train(run, o => { o["loss"] = new JsonObject { ["kind"] = "online_kd" }; o["datasets"] = new JsonArray("/nope/data"); }));
        Assert.Contains("setting 'datasets:0': dataset '/nope/data' does not exist", e.Message);
        Assert.Contains("setting 'teacher': loss 'online_kd' needs a local teacher", e.Message);
        Assert.DoesNotContain('\n', e.OneLine);
        Assert.False(Directory.Exists(run));

        var unknown = await Assert.ThrowsAnyAsync<DistillException>(() => Train(run, o => o["optimiser"] = new JsonObject()));
        Assert.Contains("setting 'optimiser'", unknown.Message);
        Assert.Contains("did you mean 'optimizer'?", unknown.Message);
        var kind = await Assert.ThrowsAnyAsync<DistillException>(() => Train(run, o => o["loss"] = new JsonObject { ["kind"] = "magic" }));
        Assert.Contains("setting 'loss:kind'", kind.Message);
        Assert.False(Directory.Exists(run));
    }

    [Fact]
    public async Task Top_k_kd_refuses_a_dataset_from_another_tokenizer_before_training()
    {
        var foreign = Path.Combine(fx.Root, "foreign-" + Guid.NewGuid().ToString("N"));
        TrainingFixture.WriteDataset(foreign, fx.Samples.Take(4).Select(s => s with { Teacher = new("azure-openai", "gpt-4o", "o200k-deadbeef") }));
        var run = fx.NewDir("foreign");
        var e = await Assert.ThrowsAnyAsync<DistillException>(() => Train(run, o => { o["datasets"] = new JsonArray(foreign); o["loss"] = new JsonObject { ["kind"] = "topk_kd" }; }));
        Assert.Contains("o200k-deadbeef", e.Message);
        Assert.Contains(fx.Tokenizer.TokenizerId, e.Message);
        Assert.False(File.Exists(Path.Combine(run, "metrics.jsonl")));
        // Sequence-level KD on the same data is fine.
        await Train(fx.NewDir("foreign-sft"), o => { o["datasets"] = new JsonArray(foreign); o["steps"] = 1; o["data"]!["validation_fraction"] = 0.0; });
    }

    [Fact]
    public void Set_overrides_apply_dotted_keys()
    {
        var path = fx.WriteConfig(fx.NewDir("set"));
        var cfg = TrainConfig.Load(path, ["optimizer.lr=0.5", "steps=3", "loss.kind=cot", "name=x y"]);
        Assert.Equal(0.5, cfg.Optimizer.Lr);
        Assert.Equal(3, cfg.Steps);
        Assert.Equal(LossKind.Cot, cfg.Loss.Kind);
        Assert.Equal("x y", cfg.Name);
    }

    [Fact]
    public async Task The_matmul_peak_is_measured_again_so_a_busy_start_cannot_inflate_mfu()
    {
        var run = fx.NewDir("peak");
        var cfg = TrainConfig.Load(fx.WriteConfig(run, o => { o["steps"] = 4; o["log_every"] = 2; o["checkpoint_every"] = 0; }));
        using var parts = await TrainerHost.PrepareAsync(cfg, NullLogger.Instance);
        parts.PeakFlops = 1e6; // as if start-up had measured a nearly stopped machine: MFU would read in the thousands of percent
        parts.PeakRefreshInterval = TimeSpan.Zero;
        var result = new DistillTrainer(parts).Run();
        Assert.True(parts.PeakFlops > 1e8, $"peak still {parts.PeakFlops:E1} FLOP/s");
        Assert.InRange(result.Mfu, 1e-6, 1.0);
    }

    [Fact]
    public async Task Memory_stays_flat_over_two_hundred_steps()
    {
        var run = fx.NewDir("memory");
        var cfg = TrainConfig.Load(fx.WriteConfig(run, o => { o["steps"] = 200; o["stop_after_steps"] = 40; o["eval"]!["every"] = 50; o["checkpoint_every"] = 0; o["log_every"] = 50; }));
        using var parts = await TrainerHost.PrepareAsync(cfg, NullLogger.Instance);
        var trainer = new DistillTrainer(parts);
        trainer.Run(); // 40 warm-up steps: allocator pools and caches reach their size
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var before = Process.GetCurrentProcess().WorkingSet64;
        for (var i = 0; i < 4; i++) trainer.Run(); // 160 more steps
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var after = Process.GetCurrentProcess().WorkingSet64;
        Assert.Equal(200, parts.State.Step);
        Assert.True(after - before < 48L * 1024 * 1024, $"working set grew {(after - before) / 1048576.0:F1} MiB over 160 steps");
    }
}
