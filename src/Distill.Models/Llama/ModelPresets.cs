using Distill.Core.Errors;

namespace Distill.Models.Llama;

/// <summary>
/// Named configurations for the embedded world. The vocabulary is the tokenizer's, so callers pass its size; the defaults
/// assume a small world tokenizer (2048 tokens). Parameter counts (tied embeddings) at vocab 2048 / at the world tokenizer's
/// ~1,060: world-teacher about 6.4M, world-student about 0.85M / 0.73M, world-student-small about 0.23M / 0.14M (0.195x
/// world-student), world-student-deep about 0.20M / 0.14M (0.199x), tiny-test about 84k.
/// </summary>
public static class ModelPresets
{
    public const int DefaultVocabSize = 2048;

    public static IReadOnlyList<string> Names { get; } = ["world-teacher", "world-student", "world-student-small", "world-student-deep", "tiny-test"];

    public static LlamaConfig Get(string name, int vocabSize = DefaultVocabSize) => name switch
    {
        "world-teacher" => Make(vocabSize, hidden: 256, intermediate: 704, layers: 8, heads: 8, kvHeads: 4, maxPositions: 1024),
        "world-student" => Make(vocabSize, hidden: 128, intermediate: 256, layers: 4, heads: 4, kvHeads: 2, maxPositions: 1024),
        // The quickstart's student: half of world-student's width and depth, an MLP twice its width (so at most 0.2x the
        // parameters of world-student, the quickstart's teacher), with the full context a tool trace needs.
        "world-student-small" => Make(vocabSize, hidden: 64, intermediate: 128, layers: 2, heads: 4, kvHeads: 2, maxPositions: 1024),
        // The same budget as world-student-small (0.199x world-student at the world tokenizer's 1,057 tokens) spent on a third
        // layer instead of width: copying a multi-digit id whose digits repeat takes more than one induction step.
        "world-student-deep" => Make(vocabSize, hidden: 56, intermediate: 112, layers: 3, heads: 4, kvHeads: 2, maxPositions: 1024),
        "tiny-test" => Make(vocabSize, hidden: 32, intermediate: 64, layers: 2, heads: 4, kvHeads: 2, maxPositions: 128),
        _ => throw new DistillException($"unknown model preset '{name}'", $"use one of: {string.Join(", ", Names)}"),
    };

    static LlamaConfig Make(int vocab, int hidden, int intermediate, int layers, int heads, int kvHeads, int maxPositions) => new()
    {
        Architectures = ["LlamaForCausalLM"],
        ModelType = "llama",
        VocabSize = vocab,
        HiddenSize = hidden,
        IntermediateSize = intermediate,
        NumHiddenLayers = layers,
        NumAttentionHeads = heads,
        NumKeyValueHeads = kvHeads,
        MaxPositionEmbeddings = maxPositions,
        RmsNormEps = 1e-5,
        RopeTheta = 10000,
        // Small vocabularies make the embedding a large share of a tiny model: tying halves it.
        TieWordEmbeddings = true,
        AttentionBias = false,
        MlpBias = false,
        TorchDtype = "float32",
    };
}
