using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Distill.Core.Configuration;
using Distill.Core.Errors;
using Distill.Models.Chat;
using Distill.Training.Data;
using Distill.Training.Losses;
using Distill.Training.Objectives;
using Distill.Training.Schedules;

namespace Distill.Training.Config;

/// <summary>
/// One flat, typed configuration per run (nanoGPT style: presets are files under configs/train/, <c>--set section:key=value</c> on
/// top). Keys and enum values are snake_case; it is bound strictly (<see cref="StrictJsonBinder"/>: unknown keys with a "did you
/// mean", wrong types and unknown names, each by its colon path), then <see cref="Validate"/> checks values and paths.
/// Relative paths are resolved against the current directory.
/// </summary>
public sealed record TrainConfig
{
    /// <summary>Run name (report title).</summary>
    [JsonPropertyName("name")] public string Name { get; init; } = "run";

    /// <summary>The student: a preset to initialise, or a model folder to continue from.</summary>
    [JsonPropertyName("student")] public StudentConfig Student { get; init; } = new();

    /// <summary>Local teacher model folder (with tokenizer.json) for online_kd / hidden KD; null otherwise.</summary>
    [JsonPropertyName("teacher")] public string? Teacher { get; init; }

    /// <summary>Dataset folders or .parquet files, read in order.</summary>
    [JsonPropertyName("datasets")] public IReadOnlyList<string> Datasets { get; init; } = [];

    /// <summary>How conversations are rendered for a preset student (saved in the run folder); null: the base model folder's, or the defaults.</summary>
    [JsonPropertyName("chat")] public ChatConfig? Chat { get; init; }

    /// <summary>Which samples are read and how they become rows of tokens.</summary>
    [JsonPropertyName("data")] public DataConfig Data { get; init; } = new();
    /// <summary>The objective: loss kind, KD weight and temperature, divergence, prompt-token weight.</summary>
    [JsonPropertyName("loss")] public LossConfig Loss { get; init; } = new();
    /// <summary>AdamW with linear warmup and cosine decay of the learning rate.</summary>
    [JsonPropertyName("optimizer")] public OptimizerConfig Optimizer { get; init; } = new();
    /// <summary>Rows per micro-batch and micro-batches per optimizer step.</summary>
    [JsonPropertyName("batch")] public BatchConfig Batch { get; init; } = new();

    /// <summary>Optimizer steps in the run.</summary>
    [JsonPropertyName("steps")] public int Steps { get; init; } = 200;

    /// <summary>Validation-loss evaluation during training (and early stopping).</summary>
    [JsonPropertyName("eval")] public EvalConfig Eval { get; init; } = new();

    /// <summary>Checkpoint every N steps (and at the end); 0 = only at the end.</summary>
    [JsonPropertyName("checkpoint_every")] public int CheckpointEvery { get; init; } = 50;

    /// <summary>Log a metrics line every N steps.</summary>
    [JsonPropertyName("log_every")] public int LogEvery { get; init; } = 10;

    /// <summary>Stage 2: train a LoRA adapter on the student (base frozen) instead of the full weights.</summary>
    [JsonPropertyName("lora")] public LoraStageConfig? Lora { get; init; }

    /// <summary>Seeds initialisation, data order and dropout; the same seed and config repeat a run exactly.</summary>
    [JsonPropertyName("seed")] public int Seed { get; init; } = 42;

    /// <summary>auto | cpu | cuda | cuda:N.</summary>
    [JsonPropertyName("device")] public string Device { get; init; } = "auto";

    /// <summary>Run folder: checkpoints, metrics.jsonl, charts, report.md. An existing run folder is resumed.</summary>
    [JsonPropertyName("out")] public string Out { get; init; } = "runs/run";

    /// <summary>Test hook: stop (as if killed) after this many steps in this process; 0 = never. The state on disk is what a kill leaves.</summary>
    [JsonPropertyName("stop_after_steps")] public int StopAfterSteps { get; init; }

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        RespectNullableAnnotations = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) },
    };

    const string Fix = "fix the key in the config file or the --set value (every key: configs/train/README.md)";

    /// <summary>Reads a config file and applies `--set` overrides (<see cref="JsonOverrides"/>: <c>optimizer:lr=1e-3</c> or <c>optimizer.lr=1e-3</c>).</summary>
    /// <exception cref="ConfigurationException">Every unknown key, wrong type or unknown name, each with its path and source.</exception>
    public static TrainConfig Load(string path, IEnumerable<string>? overrides = null)
    {
        if (!File.Exists(path))
            throw new DistillException($"train config '{path}' does not exist", "pass a train config file, e.g. distill train configs/train/world-sft.json");
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new DistillException($"train config '{path}' is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})", "fix the JSON syntax at that position");
        }
        return Parse(node as JsonObject ?? throw new DistillException($"train config '{path}' is not a JSON object", "write the config as { \"key\": value, ... }"), overrides, path);
    }

    /// <summary>Binds a config object after applying <paramref name="overrides"/>; <paramref name="source"/> names it in messages.</summary>
    public static TrainConfig Parse(JsonObject root, IEnumerable<string>? overrides = null, string? source = null)
    {
        var overridden = JsonOverrides.Apply(root, overrides ?? []);
        return StrictJsonBinder.Bind<TrainConfig>(root, JsonOptions,
            key => overridden.Any(k => key == k || key.StartsWith(k + ":", StringComparison.Ordinal)) ? "--set" : source, "train config", Fix);
    }

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>
    /// Every problem with the values that binding cannot see, each naming its key. Path checks are done here too, so a wrong path
    /// fails before anything starts.
    /// </summary>
    public IReadOnlyList<ConfigurationProblem> Problems()
    {
        var p = new List<ConfigurationProblem>();
        void Add(string key, string message) => p.Add(new(key, null, message));
        if (Student.Model is null == (Student.Preset is null)) Add("student", "set exactly one of student:preset and student:model");
        if (Student.Model is not null && !File.Exists(Path.Combine(Student.Model, "config.json")))
            Add("student:model", $"'{Student.Model}' is not a model folder (no config.json)");
        if (Student.Preset is not null && Student.Tokenizer is null)
            Add("student:tokenizer", "a preset student needs a tokenizer (\"world\" or a tokenizer.json path)");
        if (Student.Tokenizer is not null and not "world" && !File.Exists(Student.Tokenizer))
            Add("student:tokenizer", $"'{Student.Tokenizer}' does not exist");
        if (Datasets.Count == 0) Add("datasets", "list at least one dataset folder or .parquet file");
        for (var i = 0; i < Datasets.Count; i++)
            if (!Directory.Exists(Datasets[i]) && !File.Exists(Datasets[i])) Add($"datasets:{i}", $"dataset '{Datasets[i]}' does not exist");
        if (TrainingObjective.For(Loss).NeedsTeacher && Teacher is null) Add("teacher", $"loss '{ConfigNames.Of(Loss.Kind)}' needs a local teacher model folder");
        if (Teacher is not null && !File.Exists(Path.Combine(Teacher, "config.json"))) Add("teacher", $"'{Teacher}' is not a model folder (no config.json)");
        if (Loss.Kind == LossKinds.TopKKd && Loss.TopK < 1) Add("loss:top_k", "must be >= 1 for topk_kd");
        if (Loss.SparseFraction is < 0 or > 1) Add("loss:sparse_fraction", "must be in [0, 1]");
        if (Loss.Chunks < 1) Add("loss:chunks", "must be >= 1");
        if (Loss.Beta is < 0 or > 1) Add("loss:beta", "must be in [0, 1]");
        if (Loss.Skew is < 0 or >= 1) Add("loss:skew", "must be in [0, 1)");
        if (Loss.PromptWeight is < 0 or > 1) Add("loss:prompt_weight", "must be in [0, 1]");
        CheckSchedule(p, "loss:alpha", Loss.Alpha, 0, 1);
        CheckSchedule(p, "loss:temperature", Loss.Temperature, 1e-6, 1e6);
        if (Data.MaxLength < 2) Add("data:max_length", "must be >= 2");
        if (Data.ValidationFraction is < 0 or >= 1) Add("data:validation_fraction", "must be in [0, 1)");
        if (Batch.Size < 1) Add("batch:size", "must be >= 1");
        if (Batch.GradAccum < 1) Add("batch:grad_accum", "must be >= 1");
        if (Steps < 1) Add("steps", "must be >= 1");
        if (Optimizer.Lr is <= 0 or > 1) Add("optimizer:lr", "must be in (0, 1]");
        if (Optimizer.WarmupSteps < 0) Add("optimizer:warmup_steps", "must be >= 0");
        if (Optimizer.MinLrRatio is < 0 or > 1) Add("optimizer:min_lr_ratio", "must be in [0, 1]");
        if (Optimizer.Beta1 is < 0 or >= 1) Add("optimizer:beta1", "must be in [0, 1)");
        if (Optimizer.Beta2 is < 0 or >= 1) Add("optimizer:beta2", "must be in [0, 1)");
        if (Eval.Every < 0) Add("eval:every", "must be >= 0");
        if (Eval.Batches < 1) Add("eval:batches", "must be >= 1");
        if (Eval.Patience < 0) Add("eval:patience", "must be >= 0");
        if (CheckpointEvery < 0) Add("checkpoint_every", "must be >= 0");
        if (LogEvery < 1) Add("log_every", "must be >= 1");
        if (Lora is { } l)
        {
            if (l.Rank < 1) Add("lora:rank", "must be >= 1");
            if (l.TargetModules.Count == 0) Add("lora:target_modules", "name at least one linear layer, e.g. [\"q_proj\", \"v_proj\"]");
            if (Student.Model is null) Add("lora", "the LoRA stage adapts a trained model: set student:model to the distilled run folder");
        }
        if (Device is not ("auto" or "cpu" or "cuda") && !Device.StartsWith("cuda:", StringComparison.Ordinal))
            Add("device", $"'{Device}' is unknown: use auto, cpu, cuda or cuda:N");
        if (string.IsNullOrWhiteSpace(Out)) Add("out", "name the run folder");
        return p;
    }

    /// <summary>Throws one <see cref="ConfigurationException"/> whose message lists every problem.</summary>
    public void Validate()
    {
        var problems = Problems();
        if (problems.Count > 0) throw new ConfigurationException(problems, "train config", Fix);
    }

    static void CheckSchedule(List<ConfigurationProblem> p, string name, ScheduleConfig s, double min, double max)
    {
        if (s.Start < min || s.Start > max || (s.End ?? s.Start) < min || (s.End ?? s.Start) > max)
            p.Add(new(name, null, $"values must be in [{min.ToString(CultureInfo.InvariantCulture)}, {max.ToString(CultureInfo.InvariantCulture)}]"));
    }
}

public sealed record StudentConfig
{
    /// <summary>Model preset to initialise (world-teacher, world-student, tiny-test).</summary>
    [JsonPropertyName("preset")] public string? Preset { get; init; }

    /// <summary>Model folder (config.json + model.safetensors + tokenizer.json) to start from.</summary>
    [JsonPropertyName("model")] public string? Model { get; init; }

    /// <summary>"world" (train the embedded world's tokenizer) or a tokenizer.json path; defaults to the model folder's.</summary>
    [JsonPropertyName("tokenizer")] public string? Tokenizer { get; init; }
}

/// <summary>The chat template options a run trains with (<see cref="ChatTemplateOptions"/>), as the run folder's chat_template_options.json holds them.</summary>
public sealed record ChatConfig
{
    /// <summary>json (Qwen2.5's full JSON tool schemas) | compact (one signature line per tool).</summary>
    [JsonPropertyName("tool_format")] public ChatToolFormat ToolFormat { get; init; } = ChatToolFormat.Json;

    /// <summary>System text for conversations without a system turn; null: no system turn at all.</summary>
    [JsonPropertyName("system_prompt"), JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? SystemPrompt { get; init; } = ChatTemplateOptions.HelpfulAssistant;

    public ChatTemplateOptions ToOptions() => new() { ToolFormat = ToolFormat, DefaultSystemPrompt = SystemPrompt };
}

public sealed record DataConfig
{
    /// <summary>T: tokens per row.</summary>
    [JsonPropertyName("max_length")] public int MaxLength { get; init; } = 256;

    /// <summary>pack | bucket.</summary>
    [JsonPropertyName("batching")] public BatchingMode Batching { get; init; } = BatchingMode.Pack;

    /// <summary>Share of samples held out of training to measure validation loss, picked by a hash of the sample id (the same in every run).</summary>
    [JsonPropertyName("validation_fraction")] public double ValidationFraction { get; init; } = 0.05;

    /// <summary>right (keep the beginning of a long conversation) | left (keep its end: the final answer and its stored logprobs).</summary>
    [JsonPropertyName("truncation")] public TruncationSide Truncation { get; init; } = TruncationSide.Right;

    /// <summary>Read at most this many samples per dataset (0 = all).</summary>
    [JsonPropertyName("max_samples")] public int MaxSamples { get; init; }

    /// <summary>
    /// Train only on samples whose verification passed (verified = true): where tasks have ground truth, a teacher's wrong traces
    /// never reach the student. Samples without a verdict (no ground truth) are skipped too.
    /// </summary>
    [JsonPropertyName("verified_only")] public bool VerifiedOnly { get; init; }

    /// <summary>
    /// Train on the curated view of each dataset folder: its <c>curation.jsonl</c> applied (curator-rejected samples left out,
    /// edits in place of the teacher's text, accepted rejects added), as <c>distill dataset export --curated</c> writes it.
    /// </summary>
    [JsonPropertyName("curated")] public bool Curated { get; init; }
}

public sealed record LossConfig
{
    /// <summary>sft (cross-entropy on the teacher's outputs = sequence-level KD) | topk_kd | online_kd | cot.</summary>
    [JsonPropertyName("kind")] public LossKind Kind { get; init; } = LossKind.Sft;

    /// <summary>KD weight: loss = alpha * kd + (1 - alpha) * ce.</summary>
    [JsonPropertyName("alpha")] public ScheduleConfig Alpha { get; init; } = new() { Start = 0.5 };

    /// <summary>KD temperature T: both distributions are softened by T and the KD term is multiplied by T squared.</summary>
    [JsonPropertyName("temperature")] public ScheduleConfig Temperature { get; init; } = new() { Start = 1.0 };

    /// <summary>forward_kl | reverse_kl | jsd | skew_kl | skew_reverse_kl (online KD).</summary>
    [JsonPropertyName("divergence")] public DivergenceName Divergence { get; init; } = DivergenceName.ForwardKl;

    /// <summary>jsd: the generalized Jensen-Shannon weight beta, in [0, 1] (0.5 = symmetric).</summary>
    [JsonPropertyName("beta")] public double Beta { get; init; } = 0.5;
    /// <summary>skew_kl / skew_reverse_kl: alpha in KL(p || alpha p + (1 - alpha) q), in [0, 1) (DistiLLM uses 0.1).</summary>
    [JsonPropertyName("skew")] public double Skew { get; init; } = 0.1;

    /// <summary>Stored alternatives per position used by topk_kd.</summary>
    [JsonPropertyName("top_k")] public int TopK { get; init; } = 20;

    /// <summary>topk_kd with a teacher: the share of steps on stored top-k before switching to full online KD (KdStagePlan).</summary>
    [JsonPropertyName("sparse_fraction")] public double SparseFraction { get; init; } = 1.0;

    /// <summary>Online KD scores the labelled positions in at least this many chunks (more when a chunk's logits would pass 16 MB).</summary>
    [JsonPropertyName("chunks")] public int Chunks { get; init; } = 8;

    /// <summary>Weight of the optional hidden-state MSE term (online teacher); 0 = off.</summary>
    [JsonPropertyName("hidden_weight")] public double HiddenWeight { get; init; }

    /// <summary>student:teacher hidden-state pairs for the hidden term, e.g. "2:4,4:8"; default: last layer to last layer.</summary>
    [JsonPropertyName("hidden_layer_map")] public string? HiddenLayerMap { get; init; }

    /// <summary>Weight lambda of the rationale task (cot).</summary>
    [JsonPropertyName("rationale_weight")] public double RationaleWeight { get; init; } = 1.0;

    /// <summary>Weight of cross-entropy on the prompt tokens (system, user, tool results), beside the assistant tokens' loss;
    /// 0 = assistant tokens only (OpenAI's former prompt_loss_weight, axolotl's train_on_inputs as a weight).</summary>
    [JsonPropertyName("prompt_weight")] public double PromptWeight { get; init; }

    /// <summary>The configured divergence with its parameter (beta for jsd, skew for the skew kinds).</summary>
    public Losses.Divergence ToDivergence() => Divergence switch
    {
        DivergenceName.ReverseKl => Losses.Divergence.ReverseKl,
        DivergenceName.Jsd => Losses.Divergence.Jsd(Beta),
        DivergenceName.SkewKl => Losses.Divergence.Skew(Skew),
        DivergenceName.SkewReverseKl => Losses.Divergence.SkewReverse(Skew),
        _ => Losses.Divergence.ForwardKl,
    };
}

/// <summary>A scalar schedule (<see cref="Schedule"/>): constant, or linear / cosine from start to end.</summary>
public sealed record ScheduleConfig
{
    /// <summary>constant | linear | cosine.</summary>
    [JsonPropertyName("kind")] public ScheduleKind Kind { get; init; } = ScheduleKind.Constant;
    /// <summary>Value at step 0 (and throughout, for constant).</summary>
    [JsonPropertyName("start")] public double Start { get; init; }
    /// <summary>Value at the last step; null = start.</summary>
    [JsonPropertyName("end")] public double? End { get; init; }
    /// <summary>Steps at start before the ramp to end begins.</summary>
    [JsonPropertyName("hold_steps")] public long HoldSteps { get; init; }

    public Schedule ToSchedule() => new(Kind, Start, End ?? Start, HoldSteps);
}

public sealed record OptimizerConfig
{
    /// <summary>Peak learning rate, reached at the end of warmup.</summary>
    [JsonPropertyName("lr")] public double Lr { get; init; } = 3e-3;
    /// <summary>Floor of the cosine decay as a share of lr, reached at the last step.</summary>
    [JsonPropertyName("min_lr_ratio")] public double MinLrRatio { get; init; } = 0.1;
    /// <summary>Steps of linear warmup from 0 to lr.</summary>
    [JsonPropertyName("warmup_steps")] public int WarmupSteps { get; init; } = 20;
    /// <summary>Decoupled (AdamW) weight decay.</summary>
    [JsonPropertyName("weight_decay")] public double WeightDecay { get; init; } = 0.1;
    /// <summary>AdamW first-moment decay.</summary>
    [JsonPropertyName("beta1")] public double Beta1 { get; init; } = 0.9;
    /// <summary>AdamW second-moment decay.</summary>
    [JsonPropertyName("beta2")] public double Beta2 { get; init; } = 0.95;
    /// <summary>AdamW epsilon (added outside the square root, as in PyTorch).</summary>
    [JsonPropertyName("eps")] public double Eps { get; init; } = 1e-8;

    /// <summary>Clip the global gradient norm to this (0 = off).</summary>
    [JsonPropertyName("grad_clip")] public double GradClip { get; init; } = 1.0;
}

public sealed record BatchConfig
{
    /// <summary>B: rows per micro-batch.</summary>
    [JsonPropertyName("size")] public int Size { get; init; } = 8;

    /// <summary>Micro-batches per optimizer step.</summary>
    [JsonPropertyName("grad_accum")] public int GradAccum { get; init; } = 1;
}

public sealed record EvalConfig
{
    /// <summary>Evaluate every N steps (0 = only at the end).</summary>
    [JsonPropertyName("every")] public int Every { get; init; } = 50;

    /// <summary>Validation batches per evaluation.</summary>
    [JsonPropertyName("batches")] public int Batches { get; init; } = 8;

    /// <summary>Stop after this many evaluations without a new best validation loss (0 = never).</summary>
    [JsonPropertyName("patience")] public int Patience { get; init; }
}

public sealed record LoraStageConfig
{
    /// <summary>r: the rank of each adapter's A (r x in) and B (out x r) matrices.</summary>
    [JsonPropertyName("rank")] public int Rank { get; init; } = 8;
    /// <summary>Adapter scale: the update B A is multiplied by alpha / rank.</summary>
    [JsonPropertyName("alpha")] public double Alpha { get; init; } = 16;
    /// <summary>Dropout probability on the adapter's input during training, in [0, 1).</summary>
    [JsonPropertyName("dropout")] public double Dropout { get; init; }
    /// <summary>Linear layers that get an adapter, by name (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj).</summary>
    [JsonPropertyName("target_modules")] public IReadOnlyList<string> TargetModules { get; init; } = ["q_proj", "v_proj"];
}
