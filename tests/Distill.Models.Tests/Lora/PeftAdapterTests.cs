using Distill.Models.Llama;
using Distill.Models.Lora;
using Distill.Models.SafeTensors;
using Distill.Models.Tests.Llama;
using static TorchSharp.torch;

namespace Distill.Models.Tests.Lora;

public class PeftAdapterTests : LoraTest
{
    [Fact]
    public void Adapter_save_and_load_round_trips_in_peft_layout()
    {
        using var dir = new TempDir();
        using var model = new LlamaForCausalLM(TestConfigs.Tiny());
        // The same base weights, copied rather than re-drawn from a seed: other tests draw from torch's generator in parallel.
        using var other = new LlamaForCausalLM(TestConfigs.Tiny());
        other.load_state_dict(model.state_dict());
        LoRA.Inject(model, ["q_proj", "v_proj"], rank: 4, alpha: 8);
        using (no_grad())
            foreach (var (_, lora) in LoRA.Adapters(model)) lora.LoraB.weight!.normal_(0, 0.1);
        PeftAdapter.Save(model, dir.Path, AdapterConfig.For(["q_proj", "v_proj"], 4, 8, 0, "base"));

        Assert.True(PeftAdapter.Exists(dir.Path));
        var config = PeftAdapter.ReadConfig(dir.Path);
        Assert.Equal(4, config.R);
        using (var file = SafeTensorsFile.Open(dir.File(PeftAdapter.WeightsFile)))
        {
            Assert.Contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", file.Tensors.Keys);
            Assert.Equal(2 * 2 * 2, file.Tensors.Count); // 2 layers x (q, v) x (A, B)
        }

        PeftAdapter.Load(other, dir.Path);
        var ids = randint(0, TestConfigs.Tiny().VocabSize, [2, 12]);
        using (no_grad())
            Assert.Equal(0.0, Item(model.forward(new CausalLMInput(ids)).Logits.sub(other.forward(new CausalLMInput(ids)).Logits).abs().max()), 6);
    }
}
