using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distill.Models.Llama;

/// <summary>SwiGLU feed-forward: down(silu(gate(x)) * up(x)).</summary>
public sealed class LlamaMlp : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // state-dict keys keep Hugging Face names
    public readonly nn.Module<Tensor, Tensor> gate_proj; // not Linear: LoRA.Inject swaps in a LoRALinear
    public readonly nn.Module<Tensor, Tensor> up_proj; // not Linear: LoRA.Inject swaps in a LoRALinear
    public readonly nn.Module<Tensor, Tensor> down_proj; // not Linear: LoRA.Inject swaps in a LoRALinear
#pragma warning restore IDE1006
    readonly InferenceLinear _gateUp = new(); // one matmul for gate and up when no gradient is recorded
    readonly InferenceLinear _down = new();

    public LlamaMlp(LlamaConfig config, Device? device = null, ScalarType dtype = ScalarType.Float32) : base(Native.TorchNative.LoadedThen(nameof(LlamaMlp)))
    {
        var bias = config.MlpHasBias;
        gate_proj = nn.Linear(config.HiddenSize, config.IntermediateSize, hasBias: bias, device: device, dtype: dtype);
        up_proj = nn.Linear(config.HiddenSize, config.IntermediateSize, hasBias: bias, device: device, dtype: dtype);
        down_proj = nn.Linear(config.IntermediateSize, config.HiddenSize, hasBias: bias, device: device, dtype: dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        Tensor gate, up;
        if (_gateUp.TryForward(x, gate_proj, up_proj) is { } both)
        {
            var halves = both.chunk(2, -1);
            (gate, up) = (halves[0], halves[1]);
        }
        else (gate, up) = (gate_proj.forward(x), up_proj.forward(x));
        var h = nn.functional.silu(gate) * up;
        return (_down.TryForward(h, down_proj) ?? down_proj.forward(h)).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _gateUp.Dispose();
            _down.Dispose();
        }
        base.Dispose(disposing);
    }
}
