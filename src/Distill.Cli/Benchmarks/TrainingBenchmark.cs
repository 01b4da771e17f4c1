using System.Diagnostics;
using Distill.Models.Llama;
using Distill.Models.Native;
using Distill.Models.Performance;
using Distill.Training.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace Distill.Cli.Benchmarks;

/// <summary>
/// Training-step costs of each distillation loss, measured side by side in one run on the same random batch:
/// plain SFT (cross-entropy), sparse top-20 KD from stored logprobs, SFT plus a teacher forward, and chunked online KD
/// (which also runs the teacher forward), each a full forward + backward + AdamW step computing the loss the way the trainer
/// does (SFT and sparse KD through the fused chunked head loss); SFT through the unfused cross-entropy on full [B, T, V]
/// logits as a reference; the SFT MFU at the 32k vocabulary and, for the same student body, at a 4k one; and the peak resident memory of
/// chunked online KD against SFT at a 32k vocabulary. Step times are the fastest of several interleaved rounds. Peak memory
/// is the kernel's high-water mark (VmHWM) during one step, reset through /proc/self/clear_refs after free heap pages are
/// returned, minus the resident size at the reset.
/// </summary>
public static class TrainingBenchmark
{
    public sealed record Variant(string Name, double StepSeconds, double PeakMegabytes, double TokensPerSecond);

    public sealed record Result(IReadOnlyList<Variant> Variants, long StudentParameters, long TeacherParameters,
        double MatmulGflops, double SftMfu, int SmallVocab, long SmallStudentParameters, double SmallVocabSftMfu);

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

    public static Result Run(Device device, int batch, int sequenceLength, int steps, int topK = 20, int chunks = 8, int smallVocab = 4_000)
    {
        var (studentConfig, teacherConfig) = Configs();
        NativeHeap.KeepFreedMemory(); // as the trainer does
        manual_seed(0);
        using var student = new LlamaForCausalLM(studentConfig, device);
        using var teacher = new LlamaForCausalLM(teacherConfig, device).Freeze(); // as the trainer does
        var optimizer = optim.AdamW(student.parameters(), lr: 1e-4);

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

        Tensor TeacherHidden()
        {
            using var noGrad = no_grad();
            return teacher.model.forward(new CausalLMInput(inputs)).Hidden;
        }

        // The same student body at a small vocabulary: how much of the MFU gap is the 32k-wide head.
        var (smallConfig, _) = Configs(smallVocab);
        manual_seed(0);
        using var small = new LlamaForCausalLM(smallConfig, device);
        var smallOptimizer = optim.AdamW(small.parameters(), lr: 1e-4);
        var smallIds = ids.remainder(smallVocab);
        var smallInputs = smallIds.narrow(1, 0, sequenceLength);
        var smallLabels = smallIds.narrow(1, 1, sequenceLength);

        var specs = new List<(string Name, Func<Tensor> Loss, optim.Optimizer Optimizer)>
        {
            ("SFT (cross-entropy)", () =>
                KdLoss.LinearCrossEntropy(student.model.forward(new CausalLMInput(inputs)).Hidden, student.OutputEmbedding, labels), optimizer),
            ($"sparse top-{topK} KD + CE (stored logprobs)", () =>
            {
                var hidden = student.model.forward(new CausalLMInput(inputs)).Hidden;
                return KdLoss.LinearSparseTopKWithCe(hidden, student.OutputEmbedding, storedIds, storedLogprobs, labels, 0.5).Total;
            }, optimizer),
            ("SFT + teacher forward", () =>
            {
                using (no_grad())
                {
                    _ = teacher.forward(new CausalLMInput(inputs)).Logits;
                }
                return KdLoss.LinearCrossEntropy(student.model.forward(new CausalLMInput(inputs)).Hidden, student.OutputEmbedding, labels);
            }, optimizer),
            ($"online KD, chunked x{chunks} (teacher forward included)", () =>
            {
                var hidden = student.model.forward(new CausalLMInput(inputs)).Hidden;
                return KdLoss.Chunked(hidden, student.OutputEmbedding, TeacherHidden(), teacher.OutputEmbedding.detach(), labels, chunks);
            }, optimizer),
            ("SFT, unfused CE on [B, T, V] logits (reference)", () =>
                KdLoss.CrossEntropy(student.forward(new CausalLMInput(inputs)).Logits, labels), optimizer),
            ($"SFT at vocabulary {smallVocab:N0} (same body)", () =>
                KdLoss.LinearCrossEntropy(small.model.forward(new CausalLMInput(smallInputs)).Hidden, small.OutputEmbedding, smallLabels), smallOptimizer),
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
        var sftMfu = student.TrainingFlopsPerToken(sequenceLength) * variants[0].TokensPerSecond / 1e9 / matmul;
        var smallMfu = small.TrainingFlopsPerToken(sequenceLength) * variants[5].TokensPerSecond / 1e9 / matmul;
        return new Result(variants.Take(5).ToList(), student.ParameterCount, teacher.ParameterCount, matmul, sftMfu, smallVocab, small.ParameterCount, smallMfu);

        static void Step(Func<Tensor> loss, optim.Optimizer optimizer)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            loss().backward();
            optimizer.step();
        }
    }

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
