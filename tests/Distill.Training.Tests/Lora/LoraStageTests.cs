using System.Text.Json.Nodes;
using Distill.Models.Checkpoints;
using Distill.Models.Llama;
using Distill.Models.Lora;
using Distill.Training.Config;
using Distill.Training.Trainer;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace Distill.Training.Tests.Lora;

[Collection(TrainingCollection.Name)]
public class LoraStageTests(TrainingFixture fx)
{
    private static double MaxDiff(Tensor a, Tensor b) => a.sub(b).abs().max().item<float>();

    [Fact]
    public async Task Lora_stage_trains_only_the_adapter_and_merge_equals_the_adapter_forward()
    {
        var baseDir = Path.Combine(fx.Root, "tiny-student");
        var run = fx.NewDir("lora");
        var result = await TrainerHost.RunAsync(TrainConfig.Load(fx.WriteConfig(run, o =>
        {
            o["steps"] = 6;
            o["optimizer"]!["lr"] = 5e-2;
            o["lora"] = new JsonObject { ["rank"] = 4, ["alpha"] = 8, ["target_modules"] = new JsonArray("q_proj", "v_proj", "down_proj") };
        })), NullLogger.Instance);
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
