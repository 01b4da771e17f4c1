using Distill.Models.Chat;
using Distill.Training.Config;
using Distill.Training.Data;

namespace Distill.Cli.Commands;

/// <summary>
/// The typed train configs of the quickstart's training stages (teacher, students, LoRA): what each `distill train` it prints
/// reads from the plan's configs/ folder. Built as <see cref="TrainConfig"/> records, so a misspelled key cannot compile.
/// </summary>
public static class QuickstartTrainConfigs
{
    /// <summary>Sequence-level KD (the baseline and seq-kd) and the teacher's own training: cross-entropy only.</summary>
    public static LossConfig Sft { get; } = new() { Kind = LossKind.Sft };

    /// <summary>Sequence + logit KD: alpha 0.5 * KL(teacher top-20 || student) + 0.5 * CE.</summary>
    public static LossConfig TopKKd { get; } = new()
    {
        Kind = LossKind.TopKKd,
        TopK = 20,
        Alpha = new ScheduleConfig { Start = 0.5 },
        Temperature = new ScheduleConfig { Start = 1.0 },
    };

    /// <summary>The local teacher: SFT of <see cref="QuickstartPlan.TeacherPreset"/> on the scripted demonstrations (out is set once its cache folder is known).</summary>
    public static TrainConfig Teacher(QuickstartPlan plan, string device) => Common(plan, "teacher", device) with
    {
        Student = new StudentConfig { Preset = plan.TeacherPreset, Tokenizer = "world" },
        Chat = WorldChat,
        Datasets = [plan.Demonstrations],
        Loss = Sft,
        Optimizer = new OptimizerConfig { Lr = plan.TeacherLearningRate, MinLrRatio = 0.1, WarmupSteps = Math.Min(plan.TeacherWarmupSteps, plan.TeacherSteps / 5) },
        Steps = plan.TeacherSteps,
    };

    /// <summary>A fresh <see cref="QuickstartPlan.StudentPreset"/> student trained with <paramref name="loss"/> (and the plan's
    /// <see cref="QuickstartPlan.StudentPromptWeight"/>) on <paramref name="dataset"/>.</summary>
    public static TrainConfig Student(QuickstartPlan plan, string name, string dataset, LossConfig loss, string output, bool verifiedOnly, string device)
    {
        var common = Common(plan, name, device);
        return common with
        {
            Student = new StudentConfig { Preset = plan.StudentPreset, Tokenizer = "world" },
            Chat = WorldChat,
            Datasets = [dataset],
            Data = common.Data with { VerifiedOnly = verifiedOnly },
            Loss = loss with { PromptWeight = plan.StudentPromptWeight },
            Optimizer = new OptimizerConfig { Lr = 3e-3, MinLrRatio = 0.1, WarmupSteps = 30 },
            Steps = plan.StudentSteps,
            Out = output,
        };
    }

    /// <summary>
    /// A rank-8 LoRA of the trained model in <paramref name="baseModel"/> on <paramref name="datasets"/>, every linear layer adapted.
    /// No chat section: a student continued from a model folder keeps that folder's chat format.
    /// </summary>
    public static TrainConfig Lora(QuickstartPlan plan, string name, string baseModel, IReadOnlyList<string> datasets, string output, string device) =>
        Common(plan, name, device) with
        {
            Student = new StudentConfig { Model = baseModel },
            Datasets = [.. datasets],
            Loss = Sft,
            Optimizer = new OptimizerConfig { Lr = 3e-3, MinLrRatio = 0.1, WarmupSteps = 10, WeightDecay = 0.0 },
            Steps = plan.LoraSteps,
            Lora = new LoraStageConfig
            {
                Rank = 8,
                Alpha = 16,
                Dropout = 0.0,
                TargetModules = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
            },
            Out = output,
        };

    /// <summary>The world's models render tools as compact signatures (saved in each model folder, so serving renders the same).</summary>
    private static ChatConfig WorldChat => new() { ToolFormat = ChatToolFormat.Compact };

    private static TrainConfig Common(QuickstartPlan plan, string name, string device) => new()
    {
        Name = $"quickstart-{name}",
        Data = new DataConfig { MaxLength = plan.MaxLength, Batching = BatchingMode.Bucket, ValidationFraction = 0.05 },
        Batch = new BatchConfig { Size = plan.BatchSize },
        Eval = new EvalConfig { Every = 100, Batches = 4, Patience = 0 },
        CheckpointEvery = 50,
        LogEvery = 25,
        Seed = plan.Seed,
        Device = device,
    };
}
