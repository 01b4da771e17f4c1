using Distill.Models.Llama;
using Distill.Models.Lora;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distill.Models.Tests.Llama;

/// <summary>
/// The no-gradient forward of a frozen model fuses q/k/v and gate/up into one matmul over weights stored transposed
/// (<see cref="InferenceLinear"/>); a forward that records gradients, or any forward of trainable weights, runs the layers one by
/// one. Both must give the same logits, whatever happened to the weights.
/// </summary>
public class InferenceLinearTests : TorchTest
{
    // A property, not a static tensor: a tensor created inside a test's dispose scope dies with it.
    static Tensor Ids => tensor(new long[] { 3, 14, 15, 9, 26, 5, 35, 8, 9, 7, 9, 3 }).view(2, 6);

    /// <summary>Logits through the fused path (no_grad) and through the layer-by-layer path (gradients on), in that order.</summary>
    static (Tensor Fused, Tensor Separate) BothPaths(LlamaForCausalLM m)
    {
        Tensor fused;
        using (no_grad()) fused = m.forward(new CausalLMInput(Ids)).Logits;
        var separate = m.forward(new CausalLMInput(Ids)).Logits.detach();
        return (fused, separate);
    }

    static Linear Q(LlamaForCausalLM m, int layer = 0) => (Linear)m.model.layers[layer].self_attn.q_proj;

    static void AssertClose(Tensor expected, Tensor actual, double atol = 1e-5) =>
        Assert.True(actual.allclose(expected, rtol: 0, atol: atol), $"max diff {(actual - expected).abs().max().to_type(ScalarType.Float64).item<double>()}");

    [Theory]
    [InlineData("llama", false)]
    [InlineData("llama", true)] // q/k/v/o biases: fused too
    [InlineData("qwen2", true)] // q/k/v biases only
    public void Fused_logits_equal_layer_by_layer_logits(string modelType, bool bias)
    {
        using var scope = NewDisposeScope();
        using var m = new LlamaForCausalLM(TestConfigs.Tiny(bias: bias, modelType: modelType)).Freeze();
        var (fused, separate) = BothPaths(m);
        AssertClose(separate, fused);
        Assert.True(separate.std().item<float>() > 0.1f, "random logits should not be flat");
        // The fused path did run: q_proj's weight now lives, transposed, in the q/k/v buffer.
        Assert.NotEqual(1, Q(m).weight!.stride(1));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_frozen_output_head_is_laid_out_for_the_head_and_the_tied_embedding_still_looks_up_the_same_rows(bool tied)
    {
        using var scope = NewDisposeScope();
        using var m = new LlamaForCausalLM(TestConfigs.Tiny(tied: tied));
        var before = m.forward(new CausalLMInput(Ids)).Logits.detach(); // trainable: nothing fused
        m.Freeze();
        var (fused, separate) = BothPaths(m);
        Assert.Equal(1, m.OutputEmbedding.stride(0)); // [V, hidden] as a transposed view of a [hidden, V] buffer
        AssertClose(before, fused);
        AssertClose(before, separate);
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(3, true)]
    public void Split_k_product_equals_the_single_product(int rows, bool bias)
    {
        using var scope = NewDisposeScope();
        var weight = randn(96, 64); // [out, in]
        var b = bias ? randn(96) : null;
        var x = randn(rows, 1, 64);
        var halves = weight.t().contiguous().view(2, 32, 96);
        var split = InferenceLinear.SplitK(x, halves, b);
        Assert.Equal(new long[] { rows, 1, 96 }, split.shape);
        AssertClose(nn.functional.linear(x, weight, b), split);
    }

    [Fact]
    public void A_decode_step_through_a_large_frozen_weight_equals_the_plain_layer()
    {
        using var scope = NewDisposeScope();
        var layer = nn.Linear(256, 640, hasBias: true); // 164k weights: split-K when libtorch has more than one thread
        foreach (var p in layer.parameters()) p.requires_grad = false;
        var x = randn(2, 1, 256);
        var expected = layer.forward(x);
        var fusion = new InferenceLinear();
        Tensor actual;
        using (no_grad()) actual = fusion.TryForward(x, layer)!;
        Assert.NotEqual(1, layer.weight!.stride(1)); // fused
        AssertClose(expected, actual, atol: 1e-4);
        fusion.Dispose();
    }

    [Fact]
    public void Parameters_keep_their_names_shapes_and_values_after_fusion()
    {
        using var scope = NewDisposeScope();
        using var m = new LlamaForCausalLM(TestConfigs.Tiny(bias: true)).Freeze();
        var before = m.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        using (no_grad()) m.forward(new CausalLMInput(Ids));
        var after = m.state_dict();
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (var (name, value) in before)
        {
            Assert.Equal(value.shape, after[name].shape);
            Assert.True(after[name].eq(value).all().item<bool>(), $"{name} changed");
        }
    }

    [Fact]
    public void Fused_weights_follow_load_state_dict()
    {
        using var scope = NewDisposeScope();
        using var m = new LlamaForCausalLM(TestConfigs.Tiny(bias: true)).Freeze();
        using var other = new LlamaForCausalLM(TestConfigs.Tiny(bias: true));
        using (no_grad()) m.forward(new CausalLMInput(Ids)); // fuse with m's own weights
        Assert.NotEqual(1, Q(m).weight!.stride(1));
        m.load_state_dict(other.state_dict());
        var (fused, _) = BothPaths(m);
        var (_, expected) = BothPaths(other);
        AssertClose(expected, fused);
    }

    [Fact]
    public void Trainable_weights_are_never_fused_so_training_keeps_contiguous_parameters()
    {
        using var scope = NewDisposeScope();
        using var m = new LlamaForCausalLM(TestConfigs.Tiny(bias: true));
        var optimizer = optim.AdamW(m.parameters(), lr: 0.1);
        using (no_grad()) m.forward(new CausalLMInput(Ids)); // a validation pass in the middle of training
        Assert.Equal(1, Q(m).weight!.stride(1));

        var logits = m.forward(new CausalLMInput(Ids.narrow(1, 0, 5))).Logits;
        nn.functional.cross_entropy(logits.reshape(-1, 50), Ids.narrow(1, 1, 5).reshape(-1)).backward();
        foreach (var (name, p) in m.named_parameters())
        {
            Assert.True(p.grad is not null && p.grad.abs().sum().item<float>() > 0, $"no gradient reached {name}");
            Assert.True(p.is_contiguous(), $"{name} is strided");
        }
        var before = Q(m).weight!.clone();
        optimizer.step();
        Assert.False(Q(m).weight!.eq(before).all().item<bool>(), "the step should move q_proj");

        // Frozen after training, the trained weights fuse and give the same logits.
        var (_, trained) = BothPaths(m);
        m.Freeze();
        var (fused, separate) = BothPaths(m);
        Assert.NotEqual(1, Q(m).weight!.stride(1));
        AssertClose(trained, separate);
        AssertClose(separate, fused);
    }

    [Fact]
    public void A_replaced_parameter_is_fused_again()
    {
        using var scope = NewDisposeScope();
        using var m = new LlamaForCausalLM(TestConfigs.Tiny()).Freeze();
        using (no_grad()) m.forward(new CausalLMInput(Ids));
        var q = Q(m, layer: 1);
        q.weight = new Parameter(randn(q.weight!.shape) * 0.2, requires_grad: false);
        var (fused, separate) = BothPaths(m);
        AssertClose(separate, fused);
        Assert.NotEqual(1, q.weight!.stride(1));
    }

    [Fact]
    public void Changing_the_dtype_after_fusion_gives_the_same_logits_in_the_new_dtype()
    {
        using var scope = NewDisposeScope();
        using var m = new LlamaForCausalLM(TestConfigs.Tiny(bias: true)).Freeze();
        using (no_grad()) m.forward(new CausalLMInput(Ids));
        m.to(ScalarType.Float64);
        var (fused, separate) = BothPaths(m);
        Assert.Equal(ScalarType.Float64, fused.dtype);
        AssertClose(separate, fused, atol: 1e-10);
    }

    [Fact]
    public void LoRA_adapted_projections_run_unfused_and_the_merged_model_matches()
    {
        using var scope = NewDisposeScope();
        using var m = new LlamaForCausalLM(TestConfigs.Tiny()).Freeze();
        using (no_grad()) m.forward(new CausalLMInput(Ids)); // fused before the adapters arrive
        LoRA.Inject(m, ["q_proj", "v_proj", "down_proj"], rank: 2, alpha: 4);
        using (no_grad())
            foreach (var (_, lora) in LoRA.Adapters(m)) lora.LoraB.weight!.copy_(randn(lora.LoraB.weight!.shape) * 0.3);
        var (fused, separate) = BothPaths(m);
        AssertClose(separate, fused);

        // merge_and_unload's state dict in a plain model: its (fused) forward equals the adapted model's.
        using var merged = new LlamaForCausalLM(TestConfigs.Tiny()).Freeze();
        using (no_grad()) merged.forward(new CausalLMInput(Ids));
        merged.load_state_dict(LoRA.MergedStateDict(m).ToDictionary(kv => kv.Key, kv => kv.Value));
        Tensor mergedLogits;
        using (no_grad()) mergedLogits = merged.forward(new CausalLMInput(Ids)).Logits;
        AssertClose(separate, mergedLogits);
    }
}
