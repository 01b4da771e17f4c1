using TorchSharp;
using static TorchSharp.torch;
using static Distill.Models.Native.Scalars;

namespace Distill.Models.Llama;

/// <summary>Pre-norm block: x + attn(norm(x)), then x + mlp(norm(x)).</summary>
public sealed class LlamaDecoderLayer : nn.Module<AttentionInput, Tensor>
{
#pragma warning disable IDE1006 // state-dict keys keep Hugging Face names
    public readonly LlamaAttention self_attn;
    public readonly LlamaMlp mlp;
    public readonly RmsNorm input_layernorm;
    public readonly RmsNorm post_attention_layernorm;
#pragma warning restore IDE1006

    public LlamaDecoderLayer(LlamaConfig config, Device? device = null, ScalarType dtype = ScalarType.Float32) : base(Native.TorchNative.LoadedThen(nameof(LlamaDecoderLayer)))
    {
        self_attn = new LlamaAttention(config, device, dtype);
        mlp = new LlamaMlp(config, device, dtype);
        input_layernorm = new RmsNorm(config.HiddenSize, config.RmsNormEps, device, dtype);
        post_attention_layernorm = new RmsNorm(config.HiddenSize, config.RmsNormEps, device, dtype);
        RegisterComponents();
    }

    public override Tensor forward(AttentionInput input)
    {
        using var scope = NewDisposeScope();
        var x = input.Hidden;
        // add(.., One), not +: TorchSharp's tensor + tensor converts an implicit alpha of 1 per call, which the finalizer can
        // free while libtorch still reads it (docs/benchmarks.md, "TorchSharp Scalar crash").
        var h = x.add(self_attn.forward(input with { Hidden = input_layernorm.forward(x) }), One);
        var output = h.add(mlp.forward(post_attention_layernorm.forward(h)), One);
        return output.MoveToOuterDisposeScope();
    }
}
