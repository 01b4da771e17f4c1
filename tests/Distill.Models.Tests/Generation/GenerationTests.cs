using Distill.Core.Errors;
using Distill.Models.Generation;
using Distill.Models.Llama;
using Distill.Models.Tests.Llama;
using static TorchSharp.torch;

namespace Distill.Models.Tests.Generation;

public class GenerationTests : TorchTest
{
    static LlamaForCausalLM NewModel() => new(TestConfigs.Tiny(tied: true));

    static readonly long[] PromptA = [1, 5, 9, 2];
    static readonly long[] PromptB = [7, 3];

    /// <summary>Greedy decoding by full recomputation over the whole sequence each step: no cache, no padding.</summary>
    static List<long> NaiveGreedy(LlamaForCausalLM m, long[] prompt, int n)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var seq = prompt.ToList();
        for (var i = 0; i < n; i++)
        {
            var logits = m.forward(new CausalLMInput(tensor(seq.ToArray()).unsqueeze(0))).Logits;
            seq.Add(logits[0, -1].argmax().item<long>());
        }
        return seq.Skip(prompt.Length).ToList();
    }

    [Fact]
    public void Greedy_generation_matches_naive_recompute_and_is_deterministic()
    {
        using var m = NewModel();
        var options = new GenerationOptions { Temperature = 0, MaxNewTokens = 8 };
        var first = LlamaGenerator.Generate(m, [PromptA], options)[0];
        var second = LlamaGenerator.Generate(m, [PromptA], options)[0];
        Assert.Equal(NaiveGreedy(m, PromptA, 8), first.TokenIds);
        Assert.Equal(first.TokenIds, second.TokenIds);
        Assert.Equal(FinishReason.Length, first.FinishReason);
    }

    [Fact]
    public void A_frozen_model_generates_the_same_tokens_and_stays_loadable_afterwards()
    {
        using var m = NewModel();
        using var other = NewModel();
        var options = new GenerationOptions { Temperature = 0, MaxNewTokens = 8 };
        var trainable = LlamaGenerator.Generate(m, [PromptA], options)[0].TokenIds;
        m.Freeze();
        // The first frozen generation fuses the weights while the generator runs in inference mode.
        Assert.Equal(trainable, LlamaGenerator.Generate(m, [PromptA], options)[0].TokenIds);
        // The fused Parameters are still normal tensors: updating them in place outside inference mode works.
        m.load_state_dict(other.state_dict());
        Assert.Equal(NaiveGreedy(other, PromptA, 8), LlamaGenerator.Generate(m, [PromptA], options)[0].TokenIds);
    }

    [Fact]
    public void A_model_trains_after_it_generated_first()
    {
        using var scope = NewDisposeScope();
        using var m = NewModel();
        LlamaGenerator.Generate(m, [PromptA], new GenerationOptions { Temperature = 0, MaxNewTokens = 4 });
        // The rotary tables were built during generation (inference mode); backward must still be able to save them.
        var ids = tensor(PromptA).unsqueeze(0);
        var logits = m.forward(new CausalLMInput(ids)).Logits;
        nn.functional.cross_entropy(logits[0], tensor(new long[] { 5, 9, 2, 1 })).backward();
        Assert.True(m.parameters().All(p => p.grad is not null));
    }

    [Fact]
    public void Left_padded_batch_gives_the_same_tokens_as_each_prompt_alone()
    {
        using var m = NewModel();
        var options = new GenerationOptions { Temperature = 0, MaxNewTokens = 6, PadTokenId = 0 };
        var batch = LlamaGenerator.Generate(m, [PromptA, PromptB], options);
        Assert.Equal(NaiveGreedy(m, PromptA, 6), batch[0].TokenIds);
        Assert.Equal(NaiveGreedy(m, PromptB, 6), batch[1].TokenIds);
    }

    [Fact]
    public void Seeded_sampling_is_reproducible_and_the_seed_matters()
    {
        using var m = NewModel();
        var options = new GenerationOptions { Temperature = 1.5, MaxNewTokens = 24, Seed = 42 };
        var a = LlamaGenerator.Generate(m, [PromptA, PromptB], options);
        var b = LlamaGenerator.Generate(m, [PromptA, PromptB], options);
        var c = LlamaGenerator.Generate(m, [PromptA, PromptB], options with { Seed = 43 });
        Assert.Equal(a[0].TokenIds, b[0].TokenIds);
        Assert.Equal(a[1].TokenIds, b[1].TokenIds);
        Assert.NotEqual(a[0].TokenIds.Concat(a[1].TokenIds), c[0].TokenIds.Concat(c[1].TokenIds));
    }

    [Fact]
    public void Top_k_one_and_a_tiny_top_p_reduce_sampling_to_greedy()
    {
        using var m = NewModel();
        var greedy = LlamaGenerator.Generate(m, [PromptA], new GenerationOptions { Temperature = 0, MaxNewTokens = 8 })[0].TokenIds;
        var topK1 = LlamaGenerator.Generate(m, [PromptA], new GenerationOptions { Temperature = 2, TopK = 1, MaxNewTokens = 8, Seed = 1 })[0].TokenIds;
        var topPTiny = LlamaGenerator.Generate(m, [PromptA], new GenerationOptions { Temperature = 2, TopP = 1e-6, MaxNewTokens = 8, Seed = 1 })[0].TokenIds;
        Assert.Equal(greedy, topK1);
        Assert.Equal(greedy, topPTiny);
    }

    [Fact]
    public void Top_p_keeps_the_smallest_set_reaching_the_mass()
    {
        using var scope = NewDisposeScope();
        // probabilities 0.5, 0.3, 0.15, 0.05: top_p 0.7 keeps the first two (0.5 < 0.7, 0.8 >= 0.7), top_k 3 drops the last.
        var logits = tensor(new[] { 0.5f, 0.3f, 0.15f, 0.05f }).log().unsqueeze(0);
        var p = TokenSampler.Filter(logits, 0, 0.7).isfinite().data<bool>().ToArray();
        Assert.Equal(new[] { true, true, false, false }, p);
        var k = TokenSampler.Filter(logits, 3, 1).isfinite().data<bool>().ToArray();
        Assert.Equal(new[] { true, true, true, false }, k);
    }

    [Fact]
    public void Logprobs_are_log_softmax_values_and_top_alternatives_are_sorted()
    {
        using var m = NewModel();
        var result = LlamaGenerator.Generate(m, [PromptA],
            new GenerationOptions { Temperature = 1, MaxNewTokens = 5, Seed = 7, TopLogprobs = 20 })[0];

        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var seq = PromptA.Concat(result.TokenIds).ToArray();
        var logprobs = m.forward(new CausalLMInput(tensor(seq).unsqueeze(0))).Logits[0].log_softmax(-1);
        for (var i = 0; i < result.Tokens.Count; i++)
        {
            var row = logprobs[PromptA.Length - 1 + i];
            var token = result.Tokens[i];
            Assert.Equal(row[token.TokenId].item<float>(), token.Logprob, 1e-4f);
            Assert.Equal(20, token.TopLogprobs.Count);
            Assert.Equal(token.TopLogprobs.OrderByDescending(t => t.Logprob).ToList(), token.TopLogprobs);
            Assert.Equal(row.argmax().item<long>(), token.TopLogprobs[0].TokenId);
            foreach (var alt in token.TopLogprobs) Assert.Equal(row[alt.TokenId].item<float>(), alt.Logprob, 1e-4f);
            Assert.True(token.Logprob < 0);
        }
    }

    [Fact]
    public void Stop_token_ends_the_row_and_is_reported_separately()
    {
        using var m = NewModel();
        var greedy = NaiveGreedy(m, PromptA, 6);
        var stopAt = greedy.FindIndex(t => t == greedy[2]); // first occurrence of the third token
        var result = LlamaGenerator.Generate(m, [PromptA, PromptB],
            new GenerationOptions { Temperature = 0, MaxNewTokens = 6, StopTokenIds = [greedy[2]] });

        Assert.Equal(FinishReason.Stop, result[0].FinishReason);
        Assert.Equal(greedy.Take(stopAt), result[0].TokenIds);
        Assert.Equal(greedy[2], result[0].StopToken!.TokenId);
        Assert.DoesNotContain(greedy[2], result[1].TokenIds);
    }

    [Fact]
    public void Streaming_callback_sees_every_token_in_order()
    {
        using var m = NewModel();
        var seen = new List<(int Row, long Token)>();
        var result = LlamaGenerator.Generate(m, [PromptA, PromptB], new GenerationOptions { Temperature = 0, MaxNewTokens = 4 },
            (row, t) => seen.Add((row, t.TokenId)));
        Assert.Equal(result[0].TokenIds, seen.Where(s => s.Row == 0).Select(s => s.Token));
        Assert.Equal(result[1].TokenIds, seen.Where(s => s.Row == 1).Select(s => s.Token));
    }

    [Fact]
    public void Invalid_options_and_prompts_are_user_errors()
    {
        using var m = NewModel();
        Assert.Throws<DistillException>(() => LlamaGenerator.Generate(m, [PromptA], new GenerationOptions { TopLogprobs = 21 }));
        Assert.Throws<DistillException>(() => LlamaGenerator.Generate(m, [PromptA], new GenerationOptions { TopP = 0 }));
        Assert.Throws<DistillException>(() => LlamaGenerator.Generate(m, [Array.Empty<long>()], new GenerationOptions()));
        Assert.Throws<DistillException>(() => LlamaGenerator.Generate(m, [[1, 50]], new GenerationOptions()));
        Assert.Throws<DistillException>(() => LlamaGenerator.Generate(m, [PromptA], new GenerationOptions { PadTokenId = -1 }));
    }

    [Fact]
    public void Generation_leaves_no_live_tensors_behind()
    {
        using var m = NewModel();
        var options = new GenerationOptions { Temperature = 1, MaxNewTokens = 16, Seed = 3, TopLogprobs = 5 };
        LlamaGenerator.Generate(m, [PromptA, PromptB], options); // warm-up: lazily created tensors are not leaks
        var before = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        LlamaGenerator.Generate(m, [PromptA, PromptB], options);
        Assert.Equal(before, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Options_from_generation_config_follow_hugging_face_semantics()
    {
        var greedy = GenerationOptions.FromConfig(new Distill.Models.Checkpoints.GenerationConfig { EosTokenIds = [2, 7], Temperature = 0.7 });
        Assert.True(greedy.Greedy);
        Assert.Equal(new long[] { 2, 7 }, greedy.StopTokenIds);
        Assert.Equal(2, greedy.PadTokenId);
        var sampled = GenerationOptions.FromConfig(new Distill.Models.Checkpoints.GenerationConfig { DoSample = true, Temperature = 0.7, TopP = 0.9, PadTokenId = 0 });
        Assert.Equal(0.7, sampled.Temperature);
        Assert.Equal(0.9, sampled.TopP);
        Assert.Equal(0, sampled.PadTokenId);
    }
}
