using System.Diagnostics;
using Distill.Models.Llama;
using Distill.Models.Native;
using Distill.Models.Performance;
using Distill.Training.Config;
using Distill.Training.Data;
using Distill.Training.Objectives;
using Distill.Training.Trainer;
using TorchSharp;
using static TorchSharp.torch;

namespace Distill.Bench;

/// <summary>
/// Training-step costs of each loss kind as <c>distill train</c> runs it, measured side by side in one run on the same random
/// batch: every row but one is a <see cref="TrainingObjective"/> built from a <see cref="LossConfig"/> (the defaults a user gets
/// for that kind) and called exactly as the trainer calls it, followed by backward and the trainer's <see cref="AdamW"/> step.
/// Rows: <c>sft</c>; <c>topk_kd</c> from stored top-20 logprobs; two references for online KD, no training path: <c>sft</c> plus
/// a teacher forward to its logits (the denominator of the online KD target, as this bench measured it when the target was set),
/// and <c>sft</c> plus the teacher's body only (no output head: a stricter denominator, printed beside it); <c>online_kd</c> (its
/// teacher forward included); <c>sft</c> on the same student body at a small vocabulary. Also the SFT MFU at the 32k vocabulary
/// and at the small one. Step times are the fastest of several interleaved rounds. Peak memory is the kernel's high-water mark (VmHWM) during one step, reset
/// through /proc/self/clear_refs after free heap pages are returned, minus the resident size at the reset.
/// </summary>
public static class TrainingBenchmark
{
    public sealed record Variant(string Name, double StepSeconds, double PeakMegabytes, double TokensPerSecond);

    /// <summary>The measured rows, in the order of <see cref="Row"/>.</summary>
    public sealed record Result(IReadOnlyList<Variant> Variants, long StudentParameters, long TeacherParameters,
        double MatmulGflops, double SftMfu, int SmallVocab, long SmallStudentParameters, double SmallVocabSftMfu)
    {
        public Variant this[Row row] => Variants[(int)row];
    }

    /// <summary>The rows of <see cref="Result.Variants"/>.</summary>
    public enum Row
    {
        Sft,
        TopKKd,
        SftPlusTeacherForward,
        SftPlusTeacherBody,
        OnlineKd,
        SmallVocabSft,
    }

    /// <summary>A ~10M-parameter student at a 32k vocabulary, and a larger teacher sharing it.</summary>
    public static (LlamaConfig Student, LlamaConfig Teacher) Configs(int vocab = 32_000)
    {
        LlamaConfig Make(int hidden, int intermediate, int layers, int heads, int kvHeads) => new()
        {
            Architectures = ["LlamaForCausalLM"],
            ModelType = "llama",
            VocabSize = vocab,
            HiddenSize = hidden,
            IntermediateSize = intermediate,
            NumHiddenLayers = layers,
            NumAttentionHeads = heads,
            NumKeyValueHeads = kvHeads,
            MaxPositionEmbeddings = 1024,
            RmsNormEps = 1e-5,
            TieWordEmbeddings = true,
            TorchDtype = "float32",
        };
        return (Make(256, 704, 4, 4, 2), Make(384, 1024, 6, 6, 2));
    }

    /// <param name="device">Where to run.</param>
    /// <param name="batch">B.</param>
    /// <param name="sequenceLength">T.</param>
    /// <param name="steps">Timed rounds (one step of every row per round).</param>
    /// <param name="topK">Stored alternatives per position for topk_kd.</param>
    /// <param name="vocab">The vocabulary of the student and teacher (32k: what the targets are stated at).</param>
    /// <param name="smallVocab">The vocabulary of the small-vocabulary SFT row.</param>
    public static Result Run(Device device, int batch, int sequenceLength, int steps, int topK = 20, int vocab = 32_000, int smallVocab = 4_000)
    {
        var (studentConfig, teacherConfig) = Configs(vocab);
        NativeHeap.KeepFreedMemory(); // as the trainer does
        manual_seed(0);
        using var student = new LlamaForCausalLM(studentConfig, device);
        using var teacher = new LlamaForCausalLM(teacherConfig, device).Freeze(); // as the trainer does
        var optimizer = Optimizer(student);

        var ids = randint(0, studentConfig.VocabSize, [batch, sequenceLength + 1], device: device);
        var inputs = ids.narrow(1, 0, sequenceLength);
        var labels = ids.narrow(1, 1, sequenceLength);
        // Stored teacher logprobs as a dataset would hold them: top-k ids and log-probabilities per position.
        Tensor storedIds, storedLogprobs;
        using (no_grad())
        {
            var (values, indices) = teacher.forward(new CausalLMInput(inputs)).Logits.log_softmax(-1).topk(topK, dim: -1);
            storedIds = indices.DetachFromDisposeScope();
            storedLogprobs = values.DetachFromDisposeScope();
        }
        var data = Batch(inputs, labels, storedIds, storedLogprobs);

        // The same student body at a small vocabulary: how much of the MFU gap is the 32k-wide head.
        var (smallConfig, _) = Configs(smallVocab);
        manual_seed(0);
        using var small = new LlamaForCausalLM(smallConfig, device);
        var smallOptimizer = Optimizer(small);
        var smallIds = ids.remainder(smallVocab);
        var smallData = Batch(smallIds.narrow(1, 0, sequenceLength), smallIds.narrow(1, 1, sequenceLength), null, null);

        // The objectives as `distill train` builds them from a config: the loss section's defaults for each kind.
        var sft = TrainingObjective.For(new LossConfig { Kind = LossKinds.Sft });
        var topKKd = TrainingObjective.For(new LossConfig { Kind = LossKinds.TopKKd, TopK = topK });
        var onlineKd = TrainingObjective.For(new LossConfig { Kind = LossKinds.OnlineKd });
        var defaults = new LossConfig();
        var step = new ObjectiveStep(0, 1, defaults.Alpha.Start, defaults.Temperature.Start);
        var studentOnly = new ObjectiveModels(student);
        var withTeacher = new ObjectiveModels(student, teacher);

        // An SFT step after a teacher forward that nothing uses: the references of the online KD rows.
        Func<Tensor> SftAfter(Func<Tensor> teacherForward) => () =>
        {
            using (no_grad())
            {
                _ = teacherForward();
            }
            return sft.Compute(studentOnly, data, step).Total;
        };
        var specs = new List<(string Name, Func<Tensor> Loss, AdamW Optimizer)>
        {
            ("sft", () => sft.Compute(studentOnly, data, step).Total, optimizer),
            ($"topk_kd (stored top-{topK} logprobs)", () => topKKd.Compute(studentOnly, data, step).Total, optimizer),
            ("reference: sft + a teacher forward (logits)", SftAfter(() => teacher.forward(new CausalLMInput(inputs)).Logits), optimizer),
            ("reference: sft + the teacher's body (no head)", SftAfter(() => teacher.model.forward(new CausalLMInput(inputs)).Hidden), optimizer),
            ($"online_kd ({defaults.Divergence}, teacher forward included)", () => onlineKd.Compute(withTeacher, data, step).Total, optimizer),
            ($"sft at vocabulary {smallVocab:N0} (same body)", () => sft.Compute(new ObjectiveModels(small), smallData, step).Total, smallOptimizer),
        };
        // Rounds: one step of every variant per round, each variant's fastest step wins, and the matmul rate is measured in
        // every round too. Other processes on a shared machine come and go; interleaving exposes every variant to the same
        // load, and the best step is the one closest to what the cores can give (as MatmulPeak does).
        foreach (var spec in specs) Step(spec.Loss, spec.Optimizer); // warm-up: allocations and optimizer state
        var best = specs.Select(_ => double.PositiveInfinity).ToArray();
        var matmul = 0.0;
        for (var round = 0; round < steps; round++)
        {
            for (var v = 0; v < specs.Count; v++)
            {
                var watch = Stopwatch.StartNew();
                Step(specs[v].Loss, specs[v].Optimizer);
                if (device.type == DeviceType.CUDA) cuda.synchronize();
                best[v] = Math.Min(best[v], watch.Elapsed.TotalSeconds);
            }
            matmul = Math.Max(matmul, MatmulPeak.Measure(device, n: 1024, trials: 2) / 1e9);
        }

        var variants = new List<Variant>();
        for (var v = 0; v < specs.Count; v++)
        {
            // Peak memory of one more step, measured from a heap with its free pages returned to the kernel (the timed steps
            // reuse kept pages, see NativeHeap, which would hide the step's working set from the resident size).
            NativeHeap.Trim();
            ResetPeakMemory();
            var baseline = ResidentMegabytes("VmRSS");
            Step(specs[v].Loss, specs[v].Optimizer);
            var peak = ResidentMegabytes("VmHWM") - baseline;
            variants.Add(new Variant(specs[v].Name, best[v], peak, batch * sequenceLength / best[v]));
        }
        storedIds.Dispose();
        storedLogprobs.Dispose();

        matmul = Math.Max(matmul, 1e-9);
        var sftMfu = student.TrainingFlopsPerToken(sequenceLength) * variants[(int)Row.Sft].TokensPerSecond / 1e9 / matmul;
        var smallMfu = small.TrainingFlopsPerToken(sequenceLength) * variants[(int)Row.SmallVocabSft].TokensPerSecond / 1e9 / matmul;
        return new Result(variants, student.ParameterCount, teacher.ParameterCount, matmul, sftMfu, smallVocab, small.ParameterCount, smallMfu);

        static void Step(Func<Tensor> loss, AdamW optimizer)
        {
            using var scope = NewDisposeScope();
            optimizer.ZeroGrad();
            loss().backward();
            optimizer.ClipGradNorm(1.0); // the config's default grad_clip
            optimizer.Step(1e-4);
        }
    }

    /// <summary>The trainer's optimizer with the config's default settings.</summary>
    private static AdamW Optimizer(LlamaForCausalLM model)
    {
        var o = new OptimizerConfig();
        return new AdamW(model.named_parameters().Select(p => (p.name, p.parameter)).ToList(), o.Beta1, o.Beta2, o.Eps, o.WeightDecay);
    }

    /// <summary>A batch as the trainer's data path hands it to an objective: every position labelled, no rationale task.</summary>
    private static DeviceBatch Batch(Tensor inputs, Tensor labels, Tensor? topKIds, Tensor? topKLogprobs) =>
        new(inputs, labels, full_like(labels, -100L), ones_like(inputs), topKIds, topKLogprobs);

    /// <summary>Writing 5 to clear_refs resets the process's peak resident size (Linux 4.0+).</summary>
    private static void ResetPeakMemory()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not Linux, or not allowed: the peak then covers the whole process so far; the table says so.
        }
    }

    private static double ResidentMegabytes(string field)
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status))
        {
            return double.NaN;
        }
        var line = File.ReadLines(status).FirstOrDefault(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        var kilobytes = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        return kilobytes is null ? double.NaN : long.Parse(kilobytes, System.Globalization.CultureInfo.InvariantCulture) / 1024.0;
    }
}
