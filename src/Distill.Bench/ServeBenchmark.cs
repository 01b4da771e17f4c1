using System.Diagnostics;
using Distill.Core.Samples;
using Distill.Models.Chat;
using Distill.Models.Llama;
using Distill.Models.Tokenization;
using Distill.Server.Engine;

namespace Distill.Bench;

/// <summary>
/// `distill bench serve`: the serving engine (what `distill serve`, `evaluate` and the quickstart's teacher run) answering many
/// concurrent greedy requests with one copy of the model and with several (Serve:DecodeWorkers), alternating, so the ratio is
/// measured side by side on a noisy machine. Greedy decoding makes both answer with the same tokens, so both do the same work.
/// </summary>
public static class ServeBenchmark
{
    public sealed record Round(int Workers, int Requests, int CompletionTokens, double Seconds)
    {
        public double TokensPerSecond => CompletionTokens / Seconds;
    }

    /// <param name="replicas">copies of one model; rounds alternate between the first copy alone and all of them.</param>
    public static async Task<IReadOnlyList<Round>> RunAsync(IReadOnlyList<LlamaForCausalLM> replicas, ITextTokenizer tokenizer, int requests,
        int maxTokens, int maxBatchRows, int rounds)
    {
        var template = new ChatTemplate(new ChatTemplateOptions());
        var prompts = Enumerable.Range(0, requests)
            .Select(i => new EngineRequest { Messages = [ChatMessage.User($"Where is order A{10000 + 37 * i}? I ordered it on day {i % 28 + 1}.")], Temperature = 0, MaxTokens = maxTokens })
            .ToList();
        var results = new List<Round>();
        for (var round = 0; round < rounds; round++)
        {
            foreach (var copies in new[] { 1, replicas.Count })
            {
                await using var engine = new LlamaChatEngine(replicas.Take(copies).ToList(), tokenizer, template, "bench", maxBatchRows);
                var clock = Stopwatch.StartNew();
                var answers = await Task.WhenAll(prompts.Select(p => engine.CompleteAsync(p, CancellationToken.None)));
                results.Add(new Round(copies, requests, answers.Sum(a => a.Usage.CompletionTokens), clock.Elapsed.TotalSeconds));
            }
        }
        return results;
    }
}
