using System.Globalization;
using Distill.Core.Errors;
using Distill.Models.Llama;
using Distill.World.Tasks;

namespace Distill.Cli.Commands;

/// <summary>Sizes of every stage. <see cref="Full"/> is the default run; <see cref="Fast"/> checks the plumbing in minutes.</summary>
public sealed record QuickstartPlan
{
    public static readonly QuickstartPlan Full = new()
    {
        // 9,000 requested (~8,650 distinct) rather than 3,000: with 3,000 the teacher memorised the training ids in 17 epochs
        // (validation loss 0.070, 35 % on world:dev); with 9,000 in the same 3,000 steps it reached 0.0059 and 88 % on world:dev
        // (docs/learning-study.md). Demonstrations are scripted, so more of them cost seconds, not training time.
        Demos = 9000,
        Labelled = 300,
        TeacherPreset = "world-student",
        // lr 1e-3 with 200 warmup steps rather than 3e-3 with 50: at 3e-3 the teacher's quality was a draw (world:dev 26.7 %
        // for seed 42 on this build, 60-63 % for seeds 43-44 even with 6,000 steps or prompt tokens in the loss; 93.6 % held-out
        // for one earlier seed-42 run); at 1e-3 the copy transition comes at step ~600 instead of ~1,200-2,500 and the
        // validation loss ends an order of magnitude lower (docs/learning-study.md, "Teachers across seeds"). The teacher of
        // this recipe ships with Distill (ShippedTeacher), so a first quickstart does not train it.
        TeacherSteps = 3000,
        // 4,500 rather than 1,500: on 1,405 verified traces (seen ~18 times each in 1,600 steps) the 142k student learned to copy
        // ids in some runs and not in others (0-55 %); on 4,204 it did in 3 of 4 runs (world:dev 40-63 %, docs/learning-study.md).
        Traces = 4500,
        StudentPreset = "world-student-small",
        StudentSteps = 1600,
        // 0.1 rather than 0: one KD seed of three slid past its 1,600 steps without learning to copy ids (8.7 % of world:dev even
        // at 3,200 steps); with a tenth of the prompt tokens' cross-entropy (tool results repeat the ids) the same seed made the
        // drop and solved 40 % (docs/learning-study.md, "Prompt tokens in the loss").
        StudentPromptWeight = 0.1,
        // 450 rather than 150: at 150 the seed-43 KD student, which writes the wrong operator into its calculator calls (156 of
        // its 171 T0 failures), kept doing so (world:dev T0 33 -> 39 %); at 450 it stopped (99 %), and the other two seeds gained
        // 36 and 16 points instead of 33 and 14, their other tiers within -4 to +26 points (world:dev, 500 tasks; held-out in
        // docs/benchmarks.md, "LoRA steps").
        LoraSteps = 450,
        // T0 rather than T2: with the prompt weight the KD students already solve T2 (89-94 % of world:dev for seeds 42 and 7)
        // while T0 is their weakest tier on world:dev in all three seeds (25.7, 34.3, 2.9 %), so that is where a LoRA can show
        // what specialising adds (docs/benchmarks.md, "Quickstart v6").
        LoraTier = "T0",
        EvalTasks = 150,
        MinTraces = 32,
        BatchSize = 16,
        MaxLength = 512,
        VerifiedTracesOnly = true,
        TeacherLearningRate = 1e-3,
        TeacherWarmupSteps = 200,
    };

    public static readonly QuickstartPlan Fast = new()
    {
        // A teacher of a few hundred steps writes well-formed traces but solves nothing, so --fast distills from every accepted
        // trace, verified or not: it checks the plumbing, not the quality.
        Demos = 200,
        Labelled = 20,
        TeacherPreset = "world-student-small",
        TeacherSteps = 300,
        Traces = 16,
        StudentPreset = "world-student-small",
        StudentSteps = 4,
        StudentPromptWeight = 0.1,
        LoraSteps = 2,
        LoraTier = "T0",
        EvalTasks = 10,
        MinTraces = 1,
        BatchSize = 8,
        MaxLength = 512,
        VerifiedTracesOnly = false,
        TeacherLearningRate = 5e-3,
        TeacherWarmupSteps = 50,
    };

    public string Out { get; init; } = "";
    public int Demos { get; init; }
    public int Labelled { get; init; }
    public string TeacherPreset { get; init; } = "";
    public int TeacherSteps { get; init; }
    public int Traces { get; init; }
    public string StudentPreset { get; init; } = "";
    public int StudentSteps { get; init; }

    /// <summary><c>loss.prompt_weight</c> of every student (baseline and KD alike, so the comparison stays fair); not the teacher's.</summary>
    public double StudentPromptWeight { get; init; }
    public int LoraSteps { get; init; }
    public string LoraTier { get; init; } = "";
    public int EvalTasks { get; init; }
    public int MinTraces { get; init; }
    public int BatchSize { get; init; }
    public int MaxLength { get; init; }
    public bool RetrainTeacher { get; init; }

    /// <summary>Start from the teacher shipped with Distill (<see cref="ShippedTeacher"/>) when its recipe matches; bench quality trains its own.</summary>
    public bool UseShippedTeacher { get; init; } = true;

    /// <summary>Seed of every training run (the teacher's too, so another seed trains another teacher).</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Distill from verified traces only (where tasks have ground truth, a wrong trace never reaches a student).</summary>
    public bool VerifiedTracesOnly { get; init; }

    public double TeacherLearningRate { get; init; }

    /// <summary>Warmup steps of the teacher's learning rate (at most a fifth of its steps).</summary>
    public int TeacherWarmupSteps { get; init; }

    public string Demonstrations => Path.Combine(Out, "datasets", "demonstrations");
    public string LabelledDemonstrations => Path.Combine(Out, "datasets", "labelled");
    public string LoraDemonstrations => Path.Combine(Out, "datasets", $"lora-{LoraTier}");
    public string TeacherTraces => Path.Combine(Out, "datasets", "teacher-traces");
    public string Baseline => Path.Combine(Out, "runs", "student-baseline");
    public string SequenceKd => Path.Combine(Out, "runs", "student-seq-kd");
    public string LogitKd => Path.Combine(Out, "runs", "student-kd");
    public string StudentLora => Path.Combine(Out, "runs", $"student-kd-lora-{LoraTier}");
    public string Configs => Path.Combine(Out, "configs");

    public void Validate()
    {
        foreach (var (name, value, least) in new[] { ("--demos", Demos, 8), ("--labelled", Labelled, 4), ("--teacher-steps", TeacherSteps, 1), ("--traces", Traces, 1),
                     ("--student-steps", StudentSteps, 1), ("--lora-steps", LoraSteps, 1), ("--eval-tasks", EvalTasks, 1), ("--min-traces", MinTraces, 1) })
        {
            if (value < least)
                throw new DistillException(string.Create(CultureInfo.InvariantCulture, $"{name} must be at least {least}, not {value}"), "leave it out for the default");
        }
        foreach (var (name, preset) in new[] { ("--teacher-preset", TeacherPreset), ("--student-preset", StudentPreset) })
        {
            if (!ModelPresets.Names.Contains(preset, StringComparer.Ordinal))
                throw new DistillException($"{name} '{preset}' is not a model preset", $"use one of: {string.Join(", ", ModelPresets.Names)}");
        }
        if (!WorldTiers.All.Contains(LoraTier, StringComparer.Ordinal))
            throw new DistillException($"--lora-tier must be one of {string.Join(", ", WorldTiers.All)}, not '{LoraTier}'", "e.g. --lora-tier T0");
    }
}
