using System.Diagnostics;
using Distill.Models.Generation;
using Distill.Models.Llama;
using Distill.Models.Performance;
using TorchSharp;
using static TorchSharp.torch;

namespace Distill.Bench;

/// <summary>
/// Model-core speed, every ratio measured in one run: decode with vs without the KV cache, batched decode throughput,
/// and the utilisation of a training-shape forward+backward against a matmul rate measured right before it.
/// </summary>
public static class ModelBenchmark
{
    public sealed record DecodeResult(string Name, int Batch, int Tokens, double Seconds)
    {
        public double TokensPerSecond => Batch * Tokens / Seconds;
    }

    public sealed record TrainingShapeResult(long Parameters, int Batch, int SequenceLength, double StepSeconds,
        double FlopsPerStep, double MatmulGflops)
    {
        public double AchievedGflops => FlopsPerStep / StepSeconds / 1e9;
        public double Mfu => AchievedGflops / MatmulGflops;
        public double TokensPerSecond => Batch * SequenceLength / StepSeconds;
    }

    /// <summary>
    /// The same greedy tokens with the KV cache (LlamaGenerator) and recomputing the whole prefix each step, in alternating
    /// rounds; each side's fastest round counts, so both see the same background load (this machine's speed changes by tens of
    /// percent within a minute).
    /// </summary>
    public static (DecodeResult Cached, DecodeResult Uncached) CacheVersusRecompute(LlamaForCausalLM model, Device device, int newTokens, int rounds = 5)
    {
        var prompt = Enumerable.Range(1, 16).Select(i => (long)i).ToList();
        var options = new GenerationOptions { MaxNewTokens = newTokens, Temperature = 0, StopTokenIds = [] };
        // Warm-up with the full length: the first run also pays for .NET tiered JIT of the decode loop (measured: the same
        // batch-1 decode ran at 165 tok/s first and 270 tok/s later in one process).
        LlamaGenerator.Generate(model, [prompt], options);
        double cachedSeconds = double.MaxValue, uncachedSeconds = double.MaxValue;
        for (var round = 0; round < rounds; round++)
        {
            var watch = Stopwatch.StartNew();
            var cached = LlamaGenerator.Generate(model, [prompt], options)[0];
            cachedSeconds = Math.Min(cachedSeconds, watch.Elapsed.TotalSeconds);

            watch.Restart();
            var recomputed = Recompute(model, device, prompt, newTokens);
            uncachedSeconds = Math.Min(uncachedSeconds, watch.Elapsed.TotalSeconds);
            if (!cached.TokenIds.SequenceEqual(recomputed.Take(cached.Tokens.Count)))
            {
                throw new InvalidOperationException("cached and recomputed greedy decoding disagree: the KV cache is wrong");
            }
        }
        return (new("decode with KV cache", 1, newTokens, cachedSeconds), new("decode recomputing the prefix", 1, newTokens, uncachedSeconds));
    }

    /// <summary>Greedy decoding without a cache: every step runs the model over the whole sequence so far.</summary>
    static List<long> Recompute(LlamaForCausalLM model, Device device, IReadOnlyList<long> prompt, int newTokens)
    {
        var sequence = new List<long>(prompt);
        using var inference = inference_mode(); // as LlamaGenerator runs the cached side
        for (var step = 0; step < newTokens; step++)
        {
            using var scope = NewDisposeScope();
            var ids = tensor(sequence.ToArray(), dtype: ScalarType.Int64, device: device).unsqueeze(0);
            var logits = model.forward(new CausalLMInput(ids, LastTokenLogitsOnly: true)).Logits;
            sequence.Add(logits[0, -1].argmax().item<long>());
        }
        return sequence.Skip(prompt.Count).ToList();
    }

    public static DecodeResult BatchedDecode(LlamaForCausalLM model, int batch, int newTokens)
    {
        var prompts = Enumerable.Range(0, batch)
            .Select(b => (IReadOnlyList<long>)Enumerable.Range(1, 16).Select(i => (long)((i * 7 + b) % 500 + 1)).ToList()).ToList();
        var options = new GenerationOptions { MaxNewTokens = newTokens, Temperature = 0, StopTokenIds = [] };
        var watch = Stopwatch.StartNew();
        LlamaGenerator.Generate(model, prompts, options);
        return new($"batched decode, batch {batch}", batch, newTokens, watch.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// FLOPs per step from <see cref="LlamaForCausalLM.TrainingFlopsPerToken"/> (nanoGPT's estimate_mfu, PaLM appendix B).
    /// <paramref name="steps"/> rounds of one matmul trial and one timed step: the fastest step against the best matmul rate,
    /// both seen under the same background load (as `distill bench train` does; five consecutive steps against a peak taken
    /// before and after gave 54-66 % on the same build within minutes).
    /// </summary>
    public static TrainingShapeResult TrainingShape(LlamaConfig config, Device device, int batch, int sequenceLength, int steps)
    {
        torch.manual_seed(0);
        using var model = new LlamaForCausalLM(config, device);
        var optimizer = optim.AdamW(model.parameters(), lr: 1e-4);
        var ids = randint(0, config.VocabSize, [batch, sequenceLength + 1], device: device);
        var inputs = ids.narrow(1, 0, sequenceLength);
        var targets = ids.narrow(1, 1, sequenceLength).reshape(-1);

        void Step()
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var logits = model.forward(new CausalLMInput(inputs)).Logits;
            nn.functional.cross_entropy(logits.reshape(-1, config.VocabSize), targets).backward();
            optimizer.step();
            if (device.type == DeviceType.CUDA) cuda.synchronize();
        }

        Step(); // warm-up: allocations and optimizer state
        double stepSeconds = double.MaxValue, matmulFlops = 0;
        for (var round = 0; round < steps; round++)
        {
            matmulFlops = Math.Max(matmulFlops, MatmulPeak.Measure(device, n: 1024, trials: 1));
            var watch = Stopwatch.StartNew();
            Step();
            stepSeconds = Math.Min(stepSeconds, watch.Elapsed.TotalSeconds);
        }
        return new(model.ParameterCount, batch, sequenceLength, stepSeconds, model.TrainingFlopsPerToken(sequenceLength) * batch * sequenceLength,
            matmulFlops / 1e9);
    }

    /// <summary>About 10M parameters: the size the MFU target names.</summary>
    public static LlamaConfig TenMillion(int vocabSize = 4096) => new()
    {
        Architectures = ["LlamaForCausalLM"],
        ModelType = "llama",
        VocabSize = vocabSize,
        HiddenSize = 384,
        IntermediateSize = 1024,
        NumHiddenLayers = 6,
        NumAttentionHeads = 6,
        NumKeyValueHeads = 6,
        MaxPositionEmbeddings = 1024,
        RmsNormEps = 1e-5,
        TieWordEmbeddings = true,
        TorchDtype = "float32",
    };
}
