using System.Globalization;
using System.Text.Json;
using Distill.Core.Errors;
using Distill.Data.Lineage;
using Distill.Models.Chat;
using Distill.Models.Checkpoints;
using Distill.Models.Llama;
using Distill.Models.Lora;
using Distill.Models.Native;
using Distill.Models.Tokenization;
using Distill.Training.Config;
using Distill.Training.Data;
using Distill.Training.Losses;
using Distill.Models.Performance;
using Distill.Training.Metrics;
using Distill.Training.Objectives;
using Distill.Training.Reports;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace Distill.Training.Trainer;

/// <summary>What the loop works on, built by <see cref="TrainerHost"/>.</summary>
public sealed class TrainerParts : IDisposable
{
    public required TrainConfig Config { get; init; }
    public required string RunDir { get; init; }
    public required Device Device { get; init; }
    public required LlamaForCausalLM Student { get; init; }
    public required ITextTokenizer Tokenizer { get; init; }
    public required string TokenizerPath { get; init; }

    /// <summary>The chat template options the data was rendered with: saved in the run folder so serving renders the same.</summary>
    public required ChatTemplateOptions ChatOptions { get; init; }
    public LlamaForCausalLM? Teacher { get; init; }
    public HiddenStateProjector? Projector { get; init; }
    public required int SharedVocab { get; init; }

    /// <summary>The loss of the configured kind, chosen once from the config.</summary>
    public required TrainingObjective Objective { get; init; }

    /// <summary>The models the objective scores batches with.</summary>
    public ObjectiveModels Models => new(Student, Teacher, Projector, SharedVocab);
    public required BatchStream Train { get; init; }
    public BatchPlan? Validation { get; init; }
    public required AdamW Optimizer { get; init; }
    public required TrainerState State { get; set; }
    /// <summary>The best matmul rate measured so far: at start-up, then again about once a minute (the trainer raises it).</summary>
    public required double PeakFlops { get; set; }

    /// <summary>How often the trainer measures the matmul peak again (at a log line).</summary>
    public TimeSpan PeakRefreshInterval { get; set; } = TimeSpan.FromMinutes(1);
    /// <summary>Where the run's lines go (chat, data, student, every log_every steps, evaluations, done).</summary>
    public required ILogger Log { get; init; }
    public required DataStatistics DataStatistics { get; init; }

    /// <summary>Told after every step (a progress bar); the log gets a line every log_every steps either way.</summary>
    public IProgress<TrainProgress>? Progress { get; set; }

    /// <summary>Every trained tensor by name (student parameters that require grad, then "projector." ones).</summary>
    public IEnumerable<(string Name, Tensor Tensor)> Trainable => Optimizer.NamedParameters.Select(p => (p.Name, (Tensor)p.Param));

    /// <summary>The resume checkpoint, then the servable weights in the run folder (full model, or the LoRA adapter).</summary>
    public void SaveCheckpoint(TrainerState state)
    {
        Checkpoint.Save(RunDir, Trainable, Optimizer, state);
        SaveServable();
    }

    public void SaveServable()
    {
        ChatTemplateOptionsFile.Save(RunDir, ChatOptions);
        if (Config.Lora is { } lora)
        {
            var targets = LoRA.Adapters(Student).Select(a => a.Path.Split('.')[^1]).Distinct().ToList();
            PeftAdapter.Save(Student, RunDir, AdapterConfig.For(targets, lora.Rank, lora.Alpha, lora.Dropout, Path.GetFullPath(Config.Student.Model!)));
        }
        else
        {
            ModelFolder.Save(Student, RunDir);
        }
        var tokenizerTarget = Path.Combine(RunDir, "tokenizer.json");
        if (Path.GetFullPath(TokenizerPath) != Path.GetFullPath(tokenizerTarget)) File.Copy(TokenizerPath, tokenizerTarget, overwrite: true);
    }

    public void Dispose()
    {
        Student.Dispose();
        Teacher?.Dispose();
        Projector?.Dispose();
    }
}

/// <summary>
/// The library entry point of a training run (what <c>distill train</c> calls): validate the config, run the tokenizer preflight,
/// load data and models, resume from the run folder's checkpoint when there is one, run <see cref="DistillTrainer"/>, then write
/// charts and report.md. Its lines go to an <see cref="ILogger"/> at Information (<see cref="LineLogger"/> prints them as plain lines).
/// </summary>
public static class TrainerHost
{
    public const string ResolvedConfigFile = "train_config.json";

    /// <summary>Subfolder of a LoRA run with base + adapter merged into one servable model folder.</summary>
    public const string MergedFolder = "merged";

    /// <summary>Runs a config file; returns a process exit code (0 done or stopped as asked, 1 a user error).</summary>
    public static async Task<int> RunFromFileAsync(string configPath, ILogger log, IEnumerable<string>? overrides = null, CancellationToken ct = default)
    {
        try
        {
            await RunAsync(TrainConfig.Load(configPath, overrides), log, ct: ct);
            return 0;
        }
        catch (DistillException e)
        {
            log.LogError("error: {Error}", e.OneLine);
            return 1;
        }
    }

    /// <summary>Trains as configured. <paramref name="tokenizerResolver"/> maps a student.tokenizer value that is not a file (e.g. "world") to a tokenizer.json path.</summary>
    public static async Task<TrainResult> RunAsync(TrainConfig config, ILogger log, Func<string, string, string>? tokenizerResolver = null, CancellationToken ct = default,
        IProgress<TrainProgress>? progress = null)
    {
        config.Validate();
        using var parts = await PrepareAsync(config, log, tokenizerResolver, ct);
        parts.Progress = progress;
        var result = new DistillTrainer(parts).Run(ct);
        // Running a finished run again trains nothing: its report (with the throughput it measured) and merged model stay as they
        // are; only what a crash after the last step left unwritten is written now.
        var merged = Path.Combine(parts.RunDir, MergedFolder);
        var reportWritten = File.Exists(Path.Combine(parts.RunDir, "report.md"));
        var mergeWritten = config.Lora is null || File.Exists(Path.Combine(merged, "config.json"));
        if (result.AlreadyFinished && reportWritten && mergeWritten) return result;
        if (result.Completed && !mergeWritten)
        {
            // Serve and evaluate the adapted student without a separate merge step: <run>/merged is a plain model folder.
            PeftAdapter.Merge(config.Student.Model!, parts.RunDir, merged);
            log.LogInformation("merged base + adapter into {Merged} (serve it with `distill serve --model {Merged}`)", merged, merged);
        }
        if (result.Completed && (!result.AlreadyFinished || !reportWritten))
        {
            TrainingReport.Write(parts.RunDir, config, parts, result);
            log.LogInformation("done: {StopReason}; run folder {RunDir}", result.StopReason, parts.RunDir);
        }
        return result;
    }

    /// <summary>Everything before the first step. Fails before any compute when the config, paths or tokenizers do not fit.</summary>
    public static async Task<TrainerParts> PrepareAsync(TrainConfig cfg, ILogger log, Func<string, string, string>? tokenizerResolver = null, CancellationToken ct = default)
    {
        TorchNative.EnsureLoaded();
        NativeHeap.KeepFreedMemory(); // steps reuse the previous step's pages instead of page-faulting large tensors back in
        var device = TorchDevices.Parse(cfg.Device);
        var runDir = Path.GetFullPath(cfg.Out);
        Directory.CreateDirectory(runDir);

        // Tokenizer and preflight: before data is encoded or a model exists.
        var tokenizerPath = ResolveTokenizer(cfg, runDir, tokenizerResolver);
        var tokenizer = TokenizerLoader.Load(tokenizerPath);
        var objective = TrainingObjective.For(cfg.Loss);
        var usesStoredLogprobs = objective.StoredTopK > 0;
        if (usesStoredLogprobs)
            TokenizerPreflight.RequireStoredLogprobsMatch(tokenizer.TokenizerId,
                await TrainingData.PeekTeacherTokenizersAsync(cfg.Datasets, ct: ct));
        var studentConfig = cfg.Student.Model is { } m ? LlamaConfig.Load(Path.Combine(m, ModelFolder.ConfigFile)) : PresetConfig(cfg.Student.Preset!, tokenizer);
        var sharedVocab = studentConfig.VocabSize;
        if (cfg.Teacher is { } teacherDir)
        {
            var teacherTokPath = Path.Combine(teacherDir, "tokenizer.json");
            if (!File.Exists(teacherTokPath))
                throw new DistillException($"teacher folder '{teacherDir}' has no tokenizer.json", "online KD compares tokenizers: copy the teacher's tokenizer.json into its folder");
            var teacherConfig = LlamaConfig.Load(Path.Combine(teacherDir, ModelFolder.ConfigFile));
            sharedVocab = TokenizerPreflight.CheckOnlineTeacher(tokenizer, TokenizerLoader.Load(teacherTokPath), studentConfig.VocabSize, teacherConfig.VocabSize);
        }

        // Chat format: the one the run folder will be served with.
        var (chat, chatSource) = StudentChatOptions.Resolve(cfg);
        if (ChatTemplateOptionsFile.Load(runDir) is { } started && started != chat)
            throw new DistillException($"run folder '{runDir}' was started with chat {StudentChatOptions.Describe(started)}, now it would be {StudentChatOptions.Describe(chat)}",
                "resume with the same chat settings, or choose a new out folder");
        log.LogInformation("chat: {Chat} ({ChatSource})", StudentChatOptions.Describe(chat), chatSource);

        // Data.
        var topK = objective.StoredTopK;
        var logprobTemperature = usesStoredLogprobs ? StoredLogprobRescale.KdTemperature(cfg.Loss.Temperature.ToSchedule()) : 1.0;
        var encoder = new SampleEncoder(tokenizer, cfg.Data.MaxLength, topK, stepByStep: objective.RationaleTask, keepEnd: cfg.Data.Truncation == TruncationSide.Left, chat,
            logprobTemperature, promptLabels: cfg.Loss.PromptWeight > 0);
        var data = await TrainingData.LoadAsync(cfg.Datasets, encoder, cfg.Data.ValidationFraction, cfg.Data.MaxSamples, ct, cfg.Data.VerifiedOnly, cfg.Data.Curated);
        (await RunLineage.CollectAsync(cfg.Datasets, cfg.Data.MaxSamples, cfg.Data.VerifiedOnly, cfg.Student.Model, ct, cfg.Data.Curated)).Write(runDir);
        if (usesStoredLogprobs && data.Statistics.LogprobsAligned == 0)
            throw new DistillException(
                $"loss topk_kd needs stored teacher logprobs with token ids, but none of the {data.Statistics.Samples} samples has logprobs that align with the student's tokens",
                "generate the dataset with a teacher that returns logprobs and shares the student's tokenizer, or use loss \"sft\"");
        var aligned = usesStoredLogprobs
            ? $", logprobs aligned for {data.Statistics.LogprobsAligned}/{data.Statistics.WithLogprobs} samples ({data.Statistics.TurnsAligned}/{data.Statistics.TurnsWithLogprobs} assistant turns" +
              $"{(data.Statistics.TurnsIdsFromText > 0 ? $", {data.Statistics.TurnsIdsFromText} with ids mapped back from token text" : "")}" +
              $"{(data.Statistics.TurnsRescaled > 0 ? $", {data.Statistics.TurnsRescaled} rescaled to temperature {logprobTemperature.ToString(CultureInfo.InvariantCulture)}" : "")})"
            : "";
        if (usesStoredLogprobs && data.Statistics.LogprobProvenance is { } provenance)
            foreach (var line in TokenizerPreflight.DescribeStoredLogprobs(provenance)) log.LogInformation("{Provenance}", line);
        log.LogInformation("{DataLine}", string.Create(CultureInfo.InvariantCulture,
            $"data: {data.Statistics.Samples} samples -> {data.Statistics.TrainExamples} train / {data.Statistics.ValidationExamples} validation examples, {data.Statistics.TrainTokens:N0} train tokens ({data.Statistics.TrainLabelTokens:N0} labelled), {data.Statistics.Truncated} truncated{aligned}{(cfg.Data.VerifiedOnly ? $", {data.SkippedUnverified} unverified samples left out" : "")}"));
        var mode = cfg.Data.Batching;
        var padId = tokenizer.PadId ?? tokenizer.EosId ?? 0;
        var trainPlan = new BatchPlan(data.Train, cfg.Batch.Size, cfg.Data.MaxLength, mode, cfg.Seed, topK, padId);
        var valPlan = data.Validation.Count > 0 ? new BatchPlan(data.Validation, cfg.Batch.Size, cfg.Data.MaxLength, mode, cfg.Seed, 0, padId, shuffle: false) : null;

        // Models: built the same way on a fresh start and on resume (the checkpoint then overwrites what is trained).
        torch.manual_seed(cfg.Seed);
        var student = cfg.Student.Model is { } dir ? ModelFolder.Load(dir, device) : new LlamaForCausalLM(studentConfig, device);
        if (cfg.Lora is { } lora)
        {
            var adapted = LoRA.Inject(student, lora.TargetModules, lora.Rank, lora.Alpha, lora.Dropout);
            log.LogInformation("lora: {Layers} adapted layers (rank {Rank}, alpha {Alpha}); base weights frozen", adapted.Count, lora.Rank, lora.Alpha);
        }
        LlamaForCausalLM? teacher = null;
        HiddenStateProjector? projector = null;
        if (cfg.Teacher is { } tdir && objective.NeedsTeacher)
        {
            teacher = ModelFolder.Load(tdir, device).Freeze();
            if (cfg.Loss.HiddenWeight > 0)
            {
                var map = cfg.Loss.HiddenLayerMap ?? $"{student.Config.NumHiddenLayers}:{teacher.Config.NumHiddenLayers}";
                projector = new HiddenStateProjector(student.Config.HiddenSize, teacher.Config.HiddenSize, map);
                projector.to(device);
            }
        }
        var named = student.named_parameters().Select(p => (p.name, p.parameter));
        if (projector is not null) named = named.Concat(projector.named_parameters().Select(p => ("projector." + p.name, p.parameter)));
        var optimizer = new AdamW(named.ToList(), cfg.Optimizer.Beta1, cfg.Optimizer.Beta2, cfg.Optimizer.Eps, cfg.Optimizer.WeightDecay);

        var state = new TrainerState { Seed = cfg.Seed };
        Checkpoint.CleanTemp(runDir);
        if (Checkpoint.Find(runDir) is { } checkpointDir)
        {
            state = Checkpoint.ReadState(checkpointDir);
            if (state.Seed != cfg.Seed)
                throw new DistillException($"run folder '{runDir}' was started with seed {state.Seed}, the config says {cfg.Seed}",
                    "resume with the same config, or choose a new out folder");
            Checkpoint.Load(checkpointDir, optimizer.NamedParameters.Select(p => (p.Name, (Tensor)p.Param)), optimizer, state);
            log.LogInformation("resuming {RunDir} at step {Step} (epoch {Epoch}, batch {Batch})", runDir, state.Step, state.DataEpoch, state.DataBatch);
        }
        File.WriteAllText(Path.Combine(runDir, ResolvedConfigFile), cfg.ToJson() + "\n");

        var peak = MatmulPeak.Measure(device);
        var trainable = optimizer.Parameters.Sum(p => p.numel());
        log.LogInformation("student: {Parameters:N0} parameters ({Trained:N0} trained) on {Device}, fp32; loss {Loss}; measured matmul peak {PeakGflops:F1} GFLOP/s",
            student.ParameterCount, trainable, device, ConfigNames.Of(cfg.Loss.Kind), peak / 1e9);
        return new TrainerParts
        {
            Config = cfg,
            RunDir = runDir,
            Device = device,
            Student = student,
            Tokenizer = tokenizer,
            TokenizerPath = tokenizerPath,
            ChatOptions = chat,
            Teacher = teacher,
            Projector = projector,
            SharedVocab = sharedVocab,
            Objective = objective,
            Optimizer = optimizer,
            Train = new BatchStream(trainPlan, state.DataPosition),
            Validation = valPlan,
            State = state,
            PeakFlops = peak,
            Log = log,
            DataStatistics = data.Statistics,
        };
    }

    static string ResolveTokenizer(TrainConfig cfg, string runDir, Func<string, string, string>? resolver)
    {
        var spec = cfg.Student.Tokenizer;
        if (spec is null) return Path.Combine(cfg.Student.Model!, "tokenizer.json") is var p && File.Exists(p)
            ? p
            : throw new DistillException($"student model folder '{cfg.Student.Model}' has no tokenizer.json", "set student.tokenizer to the tokenizer.json the model was trained with");
        if (File.Exists(spec)) return spec;
        if (resolver is not null) return resolver(spec, runDir);
        throw new DistillException($"student.tokenizer '{spec}' is not a file", "pass a tokenizer.json path (\"world\" works through `distill train`)");
    }

    static LlamaConfig PresetConfig(string preset, ITextTokenizer tokenizer)
    {
        var config = ModelPresets.Get(preset, tokenizer.VocabSize);
        config.VocabSize = Math.Max(config.VocabSize, tokenizer.VocabSize);
        if (tokenizer.EosId is { } eos) config.EosTokenIdRaw = JsonSerializer.SerializeToElement(eos);
        config.PadTokenId = tokenizer.PadId ?? config.PadTokenId;
        config.BosTokenId = tokenizer.BosId ?? config.BosTokenId;
        config.Validate(preset);
        return config;
    }
}
