using Distill.Core.Samples;
using Distill.Models.Chat;
using Distill.Models.Llama;
using Distill.Models.Native;
using Distill.Models.Tokenization;
using Distill.Server.Engine;
using Distill.Server.Hosting;
using TorchSharp;

namespace Distill.Server.Tests;

/// <summary>Serve:DecodeWorkers: copies of one model decoding in parallel answer exactly as one copy does.</summary>
public sealed class EngineReplicaTests
{
    [Fact]
    public async Task Two_replicas_answer_concurrent_requests_exactly_as_one_model_does()
    {
        TorchNative.EnsureLoaded();
        var corpus = Enumerable.Range(0, 40).Select(i => $"Order A{10000 + i} shipped on day {i}. Where is my order? It is on its way.");
        var tokenizer = TokenizerLoader.Create(BpeTrainer.Train(corpus, 320, ChatTokens.All));
        using var first = NewModel(tokenizer);
        using var second = NewModel(tokenizer);
        var template = new ChatTemplate(new ChatTemplateOptions { DefaultSystemPrompt = null });
        var requests = Enumerable.Range(0, 12)
            .Select(i => new EngineRequest { Messages = [ChatMessage.User($"Where is order A{10000 + i}?")], Temperature = 0, MaxTokens = 10 })
            .ToList();

        await using var single = new LlamaChatEngine(first, tokenizer, template, "tiny", maxBatchRows: 4);
        var expected = await Task.WhenAll(requests.Select(r => single.CompleteAsync(r, CancellationToken.None)));
        await using var replicated = new LlamaChatEngine([first, second], tokenizer, template, "tiny", maxBatchRows: 4);
        var actual = await Task.WhenAll(requests.Select(r => replicated.CompleteAsync(r, CancellationToken.None)));

        Assert.Equal(2, replicated.DecodeWorkers);
        Assert.Equal(expected.Select(r => r.Choices[0].Content), actual.Select(r => r.Choices[0].Content));
        Assert.Equal(expected.Select(r => r.Usage), actual.Select(r => r.Usage));
        Assert.Equal(12, replicated.BatchSizes.Sum());
    }

    [Theory]
    [InlineData(0, true, -1)]
    [InlineData(0, false, 1)]
    [InlineData(3, false, 3)]
    [InlineData(2, true, 2)]
    public void Decode_workers_resolve_to_one_per_core_on_cpu_and_one_on_gpu_unless_set(int configured, bool onCpu, int expected)
    {
        var resolved = ServeOptions.ResolveDecodeWorkers(configured, onCpu);

        Assert.Equal(expected == -1 ? Math.Clamp(Environment.ProcessorCount, 1, 4) : expected, resolved);
    }

    [Fact]
    public void Negative_decode_workers_are_a_configuration_problem()
    {
        var problems = new ServeOptions { DecodeWorkers = -1 }.Validate("Serve").ToList();

        Assert.Contains(problems, p => p.Key == "Serve:DecodeWorkers");
    }

    private static LlamaForCausalLM NewModel(ITextTokenizer tokenizer)
    {
        torch.manual_seed(3); // both copies get the same weights, as two loads of one folder do
        return new LlamaForCausalLM(ModelPresets.Get("tiny-test", tokenizer.VocabSize));
    }
}
