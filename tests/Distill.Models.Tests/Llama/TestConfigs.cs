using Distill.Models.Llama;

namespace Distill.Models.Tests.Llama;

static class TestConfigs
{
    public static LlamaConfig Tiny(bool tied = false, bool bias = false, string modelType = "llama", int layers = 2) => new()
    {
        ModelType = modelType,
        Architectures = [modelType == "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM"],
        VocabSize = 50,
        HiddenSize = 16,
        IntermediateSize = 24,
        NumHiddenLayers = layers,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 2,
        MaxPositionEmbeddings = 64,
        RmsNormEps = 1e-6,
        RopeTheta = 10000,
        TieWordEmbeddings = tied,
        AttentionBias = modelType == "qwen2" ? null : bias,
        // Non-default std so that random logits are far from uniform and comparisons are meaningful.
        InitializerRange = 0.2,
    };
}
