using static TorchSharp.torch;

namespace Distill.Models.Tests.Lora;

/// <summary>Base for the LoRA tests: torch loaded, and tensors read back as one double.</summary>
public abstract class LoraTest : TorchTest
{
    protected static double Item(Tensor t) => t.to_type(ScalarType.Float64).item<double>();
}
