using System.Text.Json;
using Distill.Core.Errors;
using Distill.Models.Lora;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distill.Models.Tests.Lora;

public class LoRALinearTests : LoraTest
{
    [Fact]
    public void At_step_zero_the_output_equals_the_base_layer()
    {
        using var lora = new LoRALinear(6, 4, rank: 2, alpha: 8);
        var x = randn(3, 5, 6);
        Assert.Equal(0.0, Item(lora.forward(x).sub(lora.BaseLayer.forward(x)).abs().max()));
        Assert.Equal(0.0, Item(lora.LoraB.weight!.abs().sum()));
        Assert.True(Item(lora.LoraA.weight!.abs().sum()) > 0);
    }

    [Fact]
    public void Children_use_the_peft_names_and_only_the_adapter_trains()
    {
        using var lora = new LoRALinear(nn.Linear(6, 4, hasBias: true), rank: 2, alpha: 4);
        var ps = lora.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.Equal(["base_layer.weight", "base_layer.bias", "lora_A.weight", "lora_B.weight"], ps.Keys);
        Assert.Equal([2L, 6L], ps["lora_A.weight"].shape);
        Assert.Equal([4L, 2L], ps["lora_B.weight"].shape);
        Assert.False(ps["base_layer.weight"].requires_grad);
        Assert.False(ps["base_layer.bias"].requires_grad);
        Assert.True(ps["lora_A.weight"].requires_grad);
        Assert.True(ps["lora_B.weight"].requires_grad);
    }

    [Fact]
    public void Lora_a_is_kaiming_uniform_with_a_sqrt5()
    {
        // Kaiming uniform, a = sqrt(5), fan_in = 64: bound = sqrt(6 / ((1 + 5) * 64)) = 1 / 8
        using var lora = new LoRALinear(64, 3, rank: 16, alpha: 16);
        var a = lora.LoraA.weight!;
        Assert.True(Item(a.abs().max()) <= 0.125 + 1e-7);
        Assert.True(Item(a.abs().max()) > 0.1); // 1024 draws reach close to the bound
    }

    [Fact]
    public void Output_is_base_plus_alpha_over_rank_times_b_a_x_and_merge_reproduces_it()
    {
        using var lora = new LoRALinear(nn.Linear(5, 3, hasBias: true), rank: 2, alpha: 6);
        using (no_grad()) lora.LoraB.weight!.copy_(randn(3, 2));
        var x = randn(4, 5);
        // y = W x + b + (6 / 2) * B (A x)
        var w = lora.BaseLayer.weight!;
        var expected = x.matmul(w.t()).add(lora.BaseLayer.bias!).add(x.matmul(lora.LoraA.weight!.t()).matmul(lora.LoraB.weight!.t()).mul(3.0));
        var y = lora.forward(x);
        Assert.Equal(0.0, Item(y.sub(expected).abs().max()), 5);
        Assert.True(Item(y.sub(lora.BaseLayer.forward(x)).abs().max()) > 1e-3);

        var merged = nn.functional.linear(x, lora.Merge(), lora.BaseLayer.bias!);
        Assert.Equal(0.0, Item(y.sub(merged).abs().max()), 5);
    }

    [Fact]
    public void Disabled_adapter_computes_the_base_layer()
    {
        using var lora = new LoRALinear(5, 3, rank: 2, alpha: 2);
        using (no_grad()) lora.LoraB.weight!.copy_(randn(3, 2));
        var x = randn(4, 5);
        lora.Disabled = true;
        Assert.Equal(0.0, Item(lora.forward(x).sub(lora.BaseLayer.forward(x)).abs().max()));
        lora.Disabled = false;
        Assert.True(Item(lora.forward(x).sub(lora.BaseLayer.forward(x)).abs().max()) > 1e-3);
    }
}

/// <summary>A tiny module tree shaped like a decoder: layers.{i}.self_attn.{q,k,v,o}_proj, layers.{i}.mlp, and a head.</summary>
internal sealed class TinyAttention : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    private readonly nn.Module<Tensor, Tensor> q_proj;
    private readonly nn.Module<Tensor, Tensor> k_proj;
    private readonly nn.Module<Tensor, Tensor> v_proj;
    private readonly nn.Module<Tensor, Tensor> o_proj;
#pragma warning restore IDE1006

    public TinyAttention(long h) : base(nameof(TinyAttention))
    {
        q_proj = nn.Linear(h, h, hasBias: false);
        k_proj = nn.Linear(h, h, hasBias: false);
        v_proj = nn.Linear(h, h, hasBias: false);
        o_proj = nn.Linear(h, h, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => o_proj.forward(q_proj.forward(x).mul(k_proj.forward(x)).add(v_proj.forward(x)));
}

internal sealed class TinyLayer : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    private readonly TinyAttention self_attn;
    private readonly nn.Module<Tensor, Tensor> mlp;
#pragma warning restore IDE1006

    public TinyLayer(long h) : base(nameof(TinyLayer))
    {
        self_attn = new TinyAttention(h);
        mlp = nn.Linear(h, h);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => mlp.forward(self_attn.forward(x)).add(x);
}

internal sealed class TinyModel : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    private readonly ModuleList<TinyLayer> layers;
    private readonly nn.Module<Tensor, Tensor> lm_head;
#pragma warning restore IDE1006

    public TinyModel(long h, int n) : base(nameof(TinyModel))
    {
        layers = new ModuleList<TinyLayer>(Enumerable.Range(0, n).Select(_ => new TinyLayer(h)).ToArray());
        lm_head = nn.Linear(h, 7, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        foreach (var layer in layers) x = layer.forward(x);
        return lm_head.forward(x);
    }
}

/// <summary>A parent that declares its child as the sealed Linear type: an adapter cannot be put there.</summary>
internal sealed class SealedFieldModel : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    private readonly Linear q_proj;
#pragma warning restore IDE1006

    public SealedFieldModel() : base(nameof(SealedFieldModel))
    {
        q_proj = nn.Linear(3, 3);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => q_proj.forward(x);
}

public class LoRAInjectTests : LoraTest
{
    static readonly string[] Targets = ["q_proj", "v_proj"];

    [Fact]
    public void Inject_replaces_the_target_linears_and_returns_their_paths()
    {
        using var model = new TinyModel(4, 2);
        var paths = LoRA.Inject(model, Targets, rank: 2, alpha: 4);
        Assert.Equal(["layers.0.self_attn.q_proj", "layers.0.self_attn.v_proj", "layers.1.self_attn.q_proj", "layers.1.self_attn.v_proj"], paths);
        var modules = model.named_modules().ToDictionary(m => m.name, m => m.module);
        Assert.All(paths, p => Assert.IsType<LoRALinear>(modules[p]));
        Assert.IsType<Linear>(modules["layers.0.self_attn.k_proj"]);
        Assert.IsType<Linear>(modules["lm_head"]);
    }

    [Fact]
    public void After_inject_only_lora_parameters_require_grad()
    {
        using var model = new TinyModel(4, 2);
        LoRA.Inject(model, Targets, rank: 2, alpha: 4);
        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList();
        Assert.Equal(8, trainable.Count);
        Assert.All(trainable, n => Assert.True(n.EndsWith(".lora_A.weight") || n.EndsWith(".lora_B.weight"), n));
        Assert.Contains("layers.0.self_attn.q_proj.base_layer.weight", model.named_parameters().Select(p => p.name));
    }

    [Fact]
    public void Injected_model_computes_the_base_model_at_step_zero_and_uses_the_adapters_after()
    {
        using var model = new TinyModel(4, 2);
        var x = randn(2, 3, 4);
        var before = model.forward(x).detach();
        LoRA.Inject(model, Targets, rank: 2, alpha: 4);
        Assert.Equal(0.0, Item(model.forward(x).sub(before).abs().max()), 6);

        // Training the adapter changes the output, so forward really goes through the new modules.
        using (no_grad())
            foreach (var (_, lora) in LoRA.Adapters(model)) lora.LoraB.weight!.copy_(randn_like(lora.LoraB.weight!));
        Assert.True(Item(model.forward(x).sub(before).abs().max()) > 1e-3);

        LoRA.SetDisabled(model, true);
        Assert.Equal(0.0, Item(model.forward(x).sub(before).abs().max()), 6);
    }

    [Fact]
    public void Gradients_reach_the_adapters_and_not_the_frozen_weights()
    {
        using var model = new TinyModel(4, 1);
        LoRA.Inject(model, Targets, rank: 2, alpha: 4);
        model.forward(randn(2, 3, 4)).square().sum().backward();
        var ps = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.True(Item(ps["layers.0.self_attn.q_proj.lora_B.weight"].grad!.abs().sum()) > 0);
        Assert.Null(ps["layers.0.self_attn.q_proj.base_layer.weight"].grad);
        Assert.Null(ps["lm_head.weight"].grad);
    }

    [Fact]
    public void Adapter_state_dict_uses_peft_names_and_shapes()
    {
        using var model = new TinyModel(4, 1);
        LoRA.Inject(model, Targets, rank: 2, alpha: 4);
        var sd = LoRA.AdapterStateDict(model);
        Assert.Equal(
            [
                "base_model.model.layers.0.self_attn.q_proj.lora_A.weight",
                "base_model.model.layers.0.self_attn.q_proj.lora_B.weight",
                "base_model.model.layers.0.self_attn.v_proj.lora_A.weight",
                "base_model.model.layers.0.self_attn.v_proj.lora_B.weight",
            ],
            sd.Keys.Order());
        Assert.Equal([2L, 4L], sd["base_model.model.layers.0.self_attn.q_proj.lora_A.weight"].shape);
        Assert.Equal([4L, 2L], sd["base_model.model.layers.0.self_attn.q_proj.lora_B.weight"].shape);
    }

    [Fact]
    public void Adapter_state_dict_round_trips_into_a_freshly_injected_model()
    {
        using var trained = new TinyModel(4, 1);
        LoRA.Inject(trained, Targets, rank: 2, alpha: 4);
        using (no_grad())
            foreach (var (_, lora) in LoRA.Adapters(trained)) lora.LoraB.weight!.copy_(randn_like(lora.LoraB.weight!));
        using var fresh = new TinyModel(4, 1);
        using (no_grad())
            foreach (var (name, p) in fresh.named_parameters()) p.copy_(trained.state_dict()[name.Replace("q_proj.", "q_proj.base_layer.").Replace("v_proj.", "v_proj.base_layer.")]);
        LoRA.Inject(fresh, Targets, rank: 2, alpha: 4);

        Assert.Equal(4, LoRA.LoadAdapterStateDict(fresh, LoRA.AdapterStateDict(trained)));
        var x = randn(2, 3, 4);
        Assert.Equal(0.0, Item(fresh.forward(x).sub(trained.forward(x)).abs().max()), 6);
        Assert.Equal(4, LoRA.TrainableParameters(fresh).Count);
    }

    [Fact]
    public void Loading_an_adapter_with_another_rank_fails_with_a_hint()
    {
        using var a = new TinyModel(4, 1);
        LoRA.Inject(a, Targets, rank: 2, alpha: 4);
        using var b = new TinyModel(4, 1);
        LoRA.Inject(b, Targets, rank: 3, alpha: 4);
        var e = Assert.Throws<DistillException>(() => LoRA.LoadAdapterStateDict(b, LoRA.AdapterStateDict(a)));
        Assert.Contains("r", e.Hint);
    }

    [Fact]
    public void Merged_state_dict_has_the_original_names_and_the_merged_weights()
    {
        using var model = new TinyModel(4, 1);
        var originalKeys = model.state_dict().Keys.Order().ToList();
        LoRA.Inject(model, Targets, rank: 2, alpha: 4);
        using (no_grad())
            foreach (var (_, lora) in LoRA.Adapters(model)) lora.LoraB.weight!.copy_(randn_like(lora.LoraB.weight!));
        var x = randn(2, 3, 4);
        var adapted = model.forward(x).detach();

        var merged = LoRA.MergedStateDict(model);
        Assert.Equal(originalKeys, merged.Keys.Order());
        using var plain = new TinyModel(4, 1);
        using (no_grad())
            foreach (var (name, p) in plain.named_parameters()) p.copy_(merged[name]);
        Assert.Equal(0.0, Item(plain.forward(x).sub(adapted).abs().max()), 5);
    }

    [Fact]
    public void Inject_into_a_field_declared_as_linear_fails_with_a_hint()
    {
        using var model = new SealedFieldModel();
        var e = Assert.Throws<DistillException>(() => LoRA.Inject(model, ["q_proj"], 2, 4));
        Assert.Contains("nn.Module<Tensor, Tensor>", e.Hint);
    }

    [Fact]
    public void Injecting_twice_is_refused()
    {
        using var model = new TinyModel(4, 1);
        LoRA.Inject(model, Targets, rank: 2, alpha: 4);
        var e = Assert.Throws<DistillException>(() => LoRA.Inject(model, Targets, rank: 2, alpha: 4));
        Assert.Contains("already", e.Message);
    }

    [Fact]
    public void Inject_with_no_matching_module_lists_the_linear_names()
    {
        using var model = new TinyModel(4, 1);
        var e = Assert.Throws<DistillException>(() => LoRA.Inject(model, ["gate_proj"], 2, 4));
        Assert.Contains("q_proj", e.Hint);
    }

    [Fact]
    public void Adapter_config_serializes_to_peft_adapter_config_json()
    {
        var config = AdapterConfig.For(Targets, rank: 8, alpha: 16, dropout: 0.05, baseModel: "runs/student");
        using var doc = JsonDocument.Parse(config.ToJson());
        var root = doc.RootElement;
        Assert.Equal("LORA", root.GetProperty("peft_type").GetString());
        Assert.Equal("CAUSAL_LM", root.GetProperty("task_type").GetString());
        Assert.Equal(8, root.GetProperty("r").GetInt32());
        Assert.Equal(16, root.GetProperty("lora_alpha").GetDouble());
        Assert.Equal(0.05, root.GetProperty("lora_dropout").GetDouble());
        Assert.Equal(Targets, root.GetProperty("target_modules").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("none", root.GetProperty("bias").GetString());
        Assert.Equal("runs/student", root.GetProperty("base_model_name_or_path").GetString());
        Assert.False(root.GetProperty("fan_in_fan_out").GetBoolean());
        Assert.True(root.GetProperty("inference_mode").GetBoolean());
        var back = AdapterConfig.FromJson(config.ToJson());
        Assert.Equal((8, 16.0, 0.05, "runs/student"), (back.R, back.LoraAlpha, back.LoraDropout, back.BaseModelNameOrPath));
        Assert.Equal(Targets, back.TargetModules);
    }
}
