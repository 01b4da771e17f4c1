using System.Text.Json.Nodes;
using Distill.Models.Checkpoints;
using Distill.Models.Llama;
using Distill.Models.Lora;
using Distill.Training.Config;
using Distill.Training.Trainer;
using TorchSharp;
using static TorchSharp.torch;

namespace Distill.Training.Tests.Lora;

[Collection(TrainingCollection.Name)]
public class LoraStageTests(TrainingFixture fx)
{
    private static double MaxDiff(Tensor a, Tensor b) => a.sub(b).abs().max().item<float>();

    [Fact]
    public void Adapter_save_and_load_round_trips_in_peft_layout()
    {
        var dir = fx.NewDir("adapter");
        torch.manual_seed(3);
        using var model = new LlamaForCausalLM(fx.TinyConfig());
        LoRA.Inject(model, ["q_proj", "v_proj"], rank: 4, alpha: 8);
        using (no_grad())
            foreach (var (_, lora) in LoRA.Adapters(model)) lora.LoraB.weight!.normal_(0, 0.1);
        PeftAdapter.Save(model, dir, AdapterConfig.For(["q_proj", "v_proj"], 4, 8, 0, "base"));

        Assert.True(PeftAdapter.Exists(dir));
        var config = PeftAdapter.ReadConfig(dir);
        Assert.Equal(4, config.R);
        using var file = Models.SafeTensors.SafeTensorsFile.Open(Path.Combine(dir, PeftAdapter.WeightsFile));
        Assert.Contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", file.Tensors.Keys);
        Assert.Equal(2 * 2 * 2, file.Tensors.Count); // 2 layers x (q, v) x (A, B)

        torch.manual_seed(3);
        using var other = new LlamaForCausalLM(fx.TinyConfig());
        PeftAdapter.Load(other, dir);
        var ids = randint(0, fx.Tokenizer.VocabSize, [2, 12]);
        using (no_grad())
            Assert.Equal(0.0, MaxDiff(model.forward(new CausalLMInput(ids)).Logits, other.forward(new CausalLMInput(ids)).Logits), 6);
    }

    [Fact]
    public void Lora_stage_trains_only_the_adapter_and_merge_equals_the_adapter_forward()
    {
        var baseDir = Path.Combine(fx.Root, "tiny-student");
        var run = fx.NewDir("lora");
        var result = TrainerHost.Run(TrainConfig.Load(fx.WriteConfig(run, o =>
        {
            o["steps"] = 6;
            o["optimizer"]!["lr"] = 5e-2;
            o["lora"] = new JsonObject { ["rank"] = 4, ["alpha"] = 8, ["target_modules"] = new JsonArray("q_proj", "v_proj", "down_proj") };
        })), TextWriter.Null);
        Assert.Equal(6, result.Steps);
        Assert.True(PeftAdapter.Exists(run));
        Assert.False(File.Exists(Path.Combine(run, "model.safetensors")));

        // The base weights did not move: the base model folder is unchanged and the adapter is non-zero.
        using var adapted = ModelFolder.Load(baseDir);
        using var plain = ModelFolder.Load(baseDir);
        PeftAdapter.Load(adapted, run);
        Assert.Contains(LoRA.Adapters(adapted), a => a.Module.LoraB.weight!.abs().sum().item<float>() > 0);

        var merged = fx.NewDir("merged");
        PeftAdapter.Merge(baseDir, run, merged);
        // The run itself also left a merged, servable copy.
        Assert.True(File.Exists(Path.Combine(run, TrainerHost.MergedFolder, "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(run, TrainerHost.MergedFolder, "tokenizer.json")));
        using var mergedModel = ModelFolder.Load(merged);
        Assert.True(File.Exists(Path.Combine(merged, "tokenizer.json")));
        var ids = randint(0, fx.Tokenizer.VocabSize, [2, 16]);
        using (no_grad())
        {
            var a = adapted.forward(new CausalLMInput(ids)).Logits;
            var m = mergedModel.forward(new CausalLMInput(ids)).Logits;
            var p = plain.forward(new CausalLMInput(ids)).Logits;
            Assert.True(MaxDiff(a, m) < 1e-4, $"merged differs by {MaxDiff(a, m)}");
            Assert.True(MaxDiff(a, p) > 1e-4, "the adapter changed nothing");
        }
    }
}
