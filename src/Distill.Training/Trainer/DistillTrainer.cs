using System.Diagnostics;
using System.Globalization;
using Distill.Models.Llama;
using Distill.Models.Performance;
using Distill.Training.Config;
using Distill.Training.Data;
using Distill.Training.Losses;
using Distill.Training.Metrics;
using Distill.Training.Objectives;
using Distill.Training.Schedules;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;
using static Distill.Models.Native.Scalars;

namespace Distill.Training.Trainer;

/// <summary>Where a run stands after a step, for progress displays.</summary>
public sealed record TrainProgress(int Step, int TotalSteps, double Loss, double Lr, double TokensPerSecond, double Mfu, TimeSpan Eta);

/// <summary>The result of <see cref="DistillTrainer.Run"/>.</summary>
/// <param name="AlreadyFinished">The run folder held a finished run, so this call trained nothing (and measured nothing).</param>
public sealed record TrainResult(int Steps, double? LastLoss, double? BestValLoss, string StopReason, double TokensPerSecond, double Mfu, bool Completed,
    bool AlreadyFinished = false);

/// <summary>
/// The training loop, in one file (nanoGPT's train.py): everything is built by <see cref="TrainerHost"/>; this class only steps.
/// Each step: reseed torch with (seed, step); for each micro-batch, the configured <see cref="TrainingObjective"/> forwards the
/// student (and the teacher, no_grad, when it needs one) and computes its loss; backward loss / grad_accum; clip the global gradient norm; AdamW with the warmup + cosine LR;
/// log a metrics line; every eval.every steps compute the validation CE and track early stopping; every checkpoint_every
/// steps write the resume checkpoint and the servable weights. Every step runs in its own dispose scope, so memory stays flat.
/// </summary>
public sealed class DistillTrainer(TrainerParts parts)
{
    private readonly TrainConfig _cfg = parts.Config;

    public TrainResult Run(CancellationToken ct = default)
    {
        var cfg = _cfg;
        var state = parts.State;
        var lrSchedule = new LearningRateSchedule(cfg.Optimizer.Lr, cfg.Optimizer.WarmupSteps, cfg.Steps, cfg.Optimizer.MinLrRatio);
        var alphaSchedule = cfg.Loss.Alpha.ToSchedule();
        var temperatureSchedule = cfg.Loss.Temperature.ToSchedule();
        var objective = parts.Objective;
        var models = parts.Models;
        var flopsPerToken = parts.Student.TrainingFlopsPerToken(cfg.Data.MaxLength);
        // The fused head loss skips the lm_head for unlabelled positions; MFU counts only the FLOPs done.
        var headFlopsPerToken = 6.0 * parts.Student.Config.VocabSize * parts.Student.Config.HiddenSize;
        var log = parts.Log;
        using var metrics = new MetricsLog(parts.RunDir, state.Step);

        var stepsThisProcess = 0;
        double? lastLoss = null;
        double tokensPerSecond = 0, mfu = 0;
        var window = Stopwatch.StartNew();
        long windowTokens = 0;
        double windowFlops = 0, windowSeconds = 0;
        var peakClock = Stopwatch.StartNew();
        var runClock = Stopwatch.StartNew();
        var stopReason = "completed";
        if (state.Finished)
        {
            // A finished run (all steps, or stopped early) is not trained further by running it again.
            log.LogInformation("run already finished at step {Step}: {StopReason}", state.Step, state.StopReason);
            return new TrainResult(state.Step, null, state.BestValLoss, state.StopReason ?? stopReason, 0, 0, Completed: true, AlreadyFinished: true);
        }
        parts.Student.train();

        for (var step = state.Step; step < cfg.Steps; step++)
        {
            if (ct.IsCancellationRequested)
            {
                // Ctrl+C or SIGTERM between steps: checkpoint what this process trained, so resuming repeats nothing.
                if (stepsThisProcess > 0) parts.SaveCheckpoint(state);
                ct.ThrowIfCancellationRequested();
            }
            if (cfg.StopAfterSteps > 0 && stepsThisProcess == cfg.StopAfterSteps)
            {
                parts.State = state;
                return new TrainResult(step, lastLoss, state.BestValLoss, "stopped (stop_after_steps)", tokensPerSecond, mfu, Completed: false);
            }

            var stepClock = Stopwatch.StartNew();
            torch.manual_seed(unchecked(cfg.Seed * 1_000_003L + step));
            var lr = lrSchedule.At(step);
            var alpha = alphaSchedule.Value(step, cfg.Steps);
            var temperature = temperatureSchedule.Value(step, cfg.Steps);
            var objectiveStep = new ObjectiveStep(step, cfg.Steps, alpha, temperature);

            parts.Optimizer.ZeroGrad();
            double loss = 0, ce = 0, kd = 0, hidden = 0, prompt = 0;
            long tokens = 0, headTokens = 0;
            using var gradAccum = cfg.Batch.GradAccum.ToScalar();
            for (var micro = 0; micro < cfg.Batch.GradAccum; micro++)
            {
                using var scope = NewDisposeScope();
                var host = parts.Train.Next();
                tokens += host.Tokens;
                var batch = host.ToDevice(parts.Device);
                var terms = objective.Compute(models, batch, objectiveStep);
                headTokens += terms.HeadOnLabelledOnly ? LossMath.KeepMask(batch.Labels, KdLoss.IgnoreIndex).sum().item<long>() : host.Tokens;
                terms.Total.div(gradAccum).backward();
                loss += terms.Total.item<float>() / cfg.Batch.GradAccum;
                ce += terms.Ce.item<float>() / cfg.Batch.GradAccum;
                if (terms.Kd is not null) kd += terms.Kd.item<float>() / cfg.Batch.GradAccum;
                if (terms.Hidden is not null) hidden += terms.Hidden.item<float>() / cfg.Batch.GradAccum;
                if (terms.Prompt is not null) prompt += terms.Prompt.item<float>() / cfg.Batch.GradAccum;
            }
            var gradNorm = parts.Optimizer.ClipGradNorm(cfg.Optimizer.GradClip);
            parts.Optimizer.Step(lr);
            stepsThisProcess++;
            lastLoss = loss;
            var stepSeconds = stepClock.Elapsed.TotalSeconds;
            state = state with
            {
                Step = step + 1,
                OptimizerStep = parts.Optimizer.StepCount,
                LrSchedulerStep = step + 1,
                DataEpoch = parts.Train.Position.Epoch,
                DataBatch = parts.Train.Position.Batch,
                TokensSeen = state.TokensSeen + tokens,
            };

            var stepFlops = tokens * flopsPerToken - Math.Max(0, tokens - headTokens) * headFlopsPerToken;
            windowTokens += tokens;
            windowFlops += stepFlops;
            windowSeconds = window.Elapsed.TotalSeconds;
            if (windowSeconds > 0)
            {
                tokensPerSecond = windowTokens / windowSeconds;
                mfu = windowFlops / windowSeconds / parts.PeakFlops;
            }
            var values = new Dictionary<string, double>
            {
                ["loss"] = loss,
                ["ce"] = ce,
                ["lr"] = lr,
                ["grad_norm"] = gradNorm,
                ["tokens"] = tokens,
                // Per step here (the log line shows the average since the previous line).
                ["step_seconds"] = stepSeconds,
                ["tokens_per_s"] = tokens / stepSeconds,
                ["mfu"] = stepFlops / stepSeconds / parts.PeakFlops,
                ["epoch"] = state.DataEpoch,
            };
            if (objective.HasKdTerm)
            {
                values["kd"] = kd;
                values["alpha"] = alpha;
                values["temperature"] = temperature;
            }
            if (parts.Projector is not null) values["hidden"] = hidden;
            if (cfg.Loss.PromptWeight > 0) values["prompt_ce"] = prompt;
            metrics.Write("train", step + 1, values);
            var etaNow = TimeSpan.FromSeconds(runClock.Elapsed.TotalSeconds / stepsThisProcess * (cfg.Steps - step - 1));
            parts.Progress?.Report(new TrainProgress(step + 1, cfg.Steps, loss, lr, tokensPerSecond, mfu, etaNow));

            if ((step + 1) % cfg.LogEvery == 0 || step + 1 == cfg.Steps)
            {
                if (peakClock.Elapsed >= parts.PeakRefreshInterval && windowSeconds > 0)
                {
                    // The start-up peak is what the cores gave at that moment: a busy start made MFU read 300 % later on a
                    // shared machine. The best rate seen so far is the peak; one 0.1 s trial a minute costs about 0.2 %.
                    parts.PeakFlops = Math.Max(parts.PeakFlops, MatmulPeak.Measure(parts.Device, trials: 1));
                    mfu = windowFlops / windowSeconds / parts.PeakFlops;
                    peakClock.Restart();
                }
                var eta = etaNow;
                log.LogInformation("step {Step}/{Steps} | loss {Loss:F4} (ce {Ce:F4}{Kd}) | lr {Lr:E2} | {TokensPerSecond:N0} tok/s | mfu {MfuPercent:F2}% | eta {Eta}",
                    step + 1, cfg.Steps, loss, ce, values.ContainsKey("kd") ? string.Create(CultureInfo.InvariantCulture, $" kd {kd:F4}") : "", lr,
                    tokensPerSecond, mfu * 100, eta.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture));
                window.Restart();
                windowTokens = 0;
                windowFlops = 0;
            }

            var last = step + 1 == cfg.Steps;
            var evalDue = parts.Validation is not null && ((cfg.Eval.Every > 0 && (step + 1) % cfg.Eval.Every == 0) || last);
            var stop = false;
            if (evalDue)
            {
                var val = Evaluate();
                metrics.Write("eval", step + 1, new Dictionary<string, double> { ["val_loss"] = val });
                var improved = state.BestValLoss is null || val < state.BestValLoss;
                state = state with
                {
                    BestValLoss = improved ? val : state.BestValLoss,
                    EvalsWithoutImprovement = improved ? 0 : state.EvalsWithoutImprovement + 1,
                };
                log.LogInformation("eval step {Step} | val_loss {ValLoss:F4} | best {BestValLoss:F4}", step + 1, val, state.BestValLoss);
                if (cfg.Eval.Patience > 0 && state.EvalsWithoutImprovement >= cfg.Eval.Patience)
                {
                    stop = true;
                    stopReason = $"early stopping: no better validation loss in {cfg.Eval.Patience} evaluations";
                    log.LogInformation("{StopReason}", stopReason);
                }
            }
            if (last || stop || (cfg.CheckpointEvery > 0 && (step + 1) % cfg.CheckpointEvery == 0))
            {
                state = state with { Finished = last || stop, StopReason = last || stop ? stopReason : null };
                parts.SaveCheckpoint(state);
            }
            if (stop) break;
        }
        parts.State = state;
        return new TrainResult(state.Step, lastLoss, state.BestValLoss, stopReason, tokensPerSecond, mfu, Completed: true);
    }

    /// <summary>Mean validation cross-entropy over the first eval.batches validation batches (the same batches every time).</summary>
    public double Evaluate()
    {
        var batches = parts.Validation!.Epoch(0).Take(_cfg.Eval.Batches).ToList();
        parts.Student.eval();
        try
        {
            using var noGrad = no_grad();
            double sum = 0;
            long count = 0;
            foreach (var host in batches)
            {
                using var scope = NewDisposeScope();
                var b = host.ToDevice(parts.Device);
                var labelled = LossMath.KeepMask(b.Labels, KdLoss.IgnoreIndex).sum().item<long>();
                if (labelled == 0) continue;
                var logits = parts.Student.forward(new CausalLMInput(b.InputIds)).Logits;
                sum += KdLoss.CrossEntropy(logits, b.Labels).item<float>() * labelled;
                count += labelled;
            }
            return count == 0 ? double.NaN : sum / count;
        }
        finally
        {
            parts.Student.train();
        }
    }
}
