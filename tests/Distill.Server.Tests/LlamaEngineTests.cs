using System.ClientModel;
using System.ClientModel.Primitives;
using Distill.Models.Chat;
using Distill.Models.Llama;
using Distill.Models.Native;
using Distill.Models.Tokenization;
using Distill.Server.Engine;
using Distill.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using OpenAI.Chat;
using TorchSharp;

namespace Distill.Server.Tests;

/// <summary>A tiny random Llama with a freshly trained tokenizer behind the real server.</summary>
public sealed class TinyModelServer : IAsyncLifetime
{
    public LlamaChatEngine Engine { get; private set; } = null!;
    public ITextTokenizer Tokenizer { get; private set; } = null!;
    private LlamaForCausalLM _model = null!;
    private WebApplication _app = null!;
    public Uri BaseAddress { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        TorchNative.EnsureLoaded();
        var corpus = Enumerable.Range(0, 40).Select(i => $"Order A{10000 + i} shipped on day {i}. Where is my order? It is on its way.");
        Tokenizer = TokenizerLoader.Create(BpeTrainer.Train(corpus, 320, ChatTokens.All));
        torch.manual_seed(3);
        _model = new LlamaForCausalLM(ModelPresets.Get("tiny-test", Tokenizer.VocabSize));
        Engine = new LlamaChatEngine(_model, Tokenizer, new ChatTemplate(new ChatTemplateOptions { DefaultSystemPrompt = null }), "tiny", maxBatchRows: 16);
        _app = ChatServer.Build(Engine, new ServeOptions { Port = 0 }, apiKey: null);
        await _app.StartAsync();
        BaseAddress = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    public ChatClient Chat() => new("tiny", new ApiKeyCredential("unused"), new OpenAIClientOptions
    {
        Endpoint = new Uri(BaseAddress, "/v1"),
        RetryPolicy = new ClientRetryPolicy(0),
    });

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        await Engine.DisposeAsync();
        _model.Dispose();
    }
}

public sealed class LlamaEngineTests(TinyModelServer server) : IClassFixture<TinyModelServer>
{
    private static ChatCompletionOptions Greedy(int maxTokens = 12) => new() { Temperature = 0, MaxOutputTokenCount = maxTokens };

    [Fact]
    public async Task Greedy_completion_is_deterministic_and_reports_usage()
    {
        ChatCompletion first = await server.Chat().CompleteChatAsync([new UserChatMessage("Where is my order?")], Greedy());
        ChatCompletion second = await server.Chat().CompleteChatAsync([new UserChatMessage("Where is my order?")], Greedy());

        Assert.Equal(first.Content.Count == 0 ? "" : first.Content[0].Text, second.Content.Count == 0 ? "" : second.Content[0].Text);
        Assert.InRange(first.Usage.OutputTokenCount, 1, 12);
        Assert.True(first.Usage.InputTokenCount > 5);
    }

    [Fact]
    public async Task Logprobs_are_reported_per_token_with_sorted_alternatives()
    {
        var options = Greedy(8);
        options.IncludeLogProbabilities = true;
        options.TopLogProbabilityCount = 5;

        ChatCompletion completion = await server.Chat().CompleteChatAsync([new UserChatMessage("hello")], options);

        Assert.Equal(completion.Usage.OutputTokenCount, completion.ContentTokenLogProbabilities.Count);
        foreach (var token in completion.ContentTokenLogProbabilities)
        {
            Assert.Equal(5, token.TopLogProbabilities.Count);
            Assert.True(token.LogProbability <= 0);
            // Greedy: the chosen token is the most likely one.
            Assert.Equal(token.TopLogProbabilities[0].LogProbability, token.LogProbability, 4);
            var values = token.TopLogProbabilities.Select(t => t.LogProbability).ToList();
            Assert.Equal(values.OrderByDescending(v => v), values);
        }
    }

    [Fact]
    public async Task Streamed_text_equals_the_whole_completion()
    {
        ChatCompletion whole = await server.Chat().CompleteChatAsync([new UserChatMessage("Order A10003?")], Greedy(10));
        var streamed = new System.Text.StringBuilder();

        await foreach (var update in server.Chat().CompleteChatStreamingAsync([new UserChatMessage("Order A10003?")], Greedy(10)))
        {
            foreach (var part in update.ContentUpdate)
            {
                streamed.Append(part.Text);
            }
        }

        Assert.Equal(whole.Content.Count == 0 ? "" : whole.Content[0].Text, streamed.ToString());
    }

    [Fact]
    public async Task Concurrent_requests_are_decoded_in_shared_batches()
    {
        var chat = server.Chat();
        ClientResult<ChatCompletion>[] answers = [];

        var (rows, batches) = await Batching(async () => answers = await Task.WhenAll(Enumerable.Range(0, 8)
            .Select(i => chat.CompleteChatAsync([new UserChatMessage($"Where is order A1000{i}?")], Greedy(24)))));

        Assert.All(answers, a => Assert.True(a.Value.Usage.OutputTokenCount > 0));
        Assert.Equal(8, rows);
        Assert.True(batches < 8, $"8 requests took {batches} batches");
    }

    /// <summary>
    /// Rows the engine took in and batches it started while <paramref name="run"/> ran (a batch still draining from an earlier
    /// test may take the first requests in, so rows are counted, not the new batches' sizes).
    /// </summary>
    private async Task<(int Rows, int Batches)> Batching(Func<Task> run)
    {
        var sizes = server.Engine.BatchSizes;
        int rows, count;
        lock (sizes)
        {
            rows = sizes.Sum();
            count = sizes.Count;
        }
        await run();
        lock (sizes)
        {
            return (sizes.Sum() - rows, sizes.Count - count);
        }
    }

    [Fact]
    public async Task Greedy_requests_with_different_seeds_share_batches()
    {
        // Distill's recipes send a seed with every request; under greedy decoding it changes nothing, so it must not keep
        // requests apart (it did: each request decoded alone).
        using var http = new HttpClient { BaseAddress = server.BaseAddress };

        var (rows, batches) = await Batching(() => Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            Post(http, $$"""{"model": "tiny", "max_tokens": 16, "temperature": 0, "seed": {{100 + i}}, "messages": [{"role": "user", "content": "Where is order A1000{{i}}?"}]}"""))));

        Assert.Equal(8, rows);
        Assert.True(batches < 8, $"8 requests took {batches} batches");
    }

    [Fact]
    public async Task A_seeded_sampled_request_gets_the_same_tokens_in_a_shared_batch_as_alone()
    {
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        static string Body(int seed, int n) =>
            $$"""{"model": "tiny", "n": {{n}}, "max_tokens": 10, "temperature": 1.0, "seed": {{seed}}, "messages": [{"role": "user", "content": "Where is my order?"}]}""";
        var seeds = new[] { 7, 8, 9, 7 };
        var alone = new List<string>();
        foreach (var seed in seeds)
        {
            alone.Add(await Post(http, Body(seed, n: seed == 8 ? 2 : 1)));
        }
        string[] together = [];

        var (rows, batches) = await Batching(async () => together = await Task.WhenAll(seeds.Select(seed => Post(http, Body(seed, n: seed == 8 ? 2 : 1)))));

        Assert.Equal(alone, together);
        Assert.Equal(alone[0], alone[3]);
        Assert.NotEqual(alone[0], alone[2]);
        Assert.Equal(5, rows);
        Assert.True(batches < seeds.Length, $"{seeds.Length} requests took {batches} batches");
    }

    /// <summary>The choices' texts of one completion, joined.</summary>
    private static async Task<string> Post(HttpClient http, string body)
    {
        var response = await http.PostAsync("/v1/chat/completions", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var root = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return string.Join(" | ", root.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("message").GetProperty("content").ToString()));
    }

    [Fact]
    public async Task N_choices_come_back_distinctly_indexed()
    {
        using var http = new HttpClient { BaseAddress = server.BaseAddress };

        var response = await http.PostAsync("/v1/chat/completions", new StringContent(
            """{"model": "tiny", "n": 3, "max_tokens": 6, "temperature": 1.0, "seed": 11, "messages": [{"role": "user", "content": "hi"}]}""",
            System.Text.Encoding.UTF8, "application/json"));
        var body = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal([0, 1, 2], body.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("index").GetInt32()));
    }

    [Fact]
    public async Task Prompt_beyond_the_context_is_refused_cleanly()
    {
        var longText = string.Join(' ', Enumerable.Repeat("Where is my order A10001 shipped on day 3?", 40));

        var error = await Assert.ThrowsAsync<ClientResultException>(() => server.Chat().CompleteChatAsync([new UserChatMessage(longText)]));

        Assert.Equal(400, error.Status);
        Assert.Contains("context length", error.Message);
    }
}

public sealed class StreamingTurnSplitterTests
{
    [Fact]
    public void Holds_back_a_possible_tag_until_it_is_settled()
    {
        var splitter = new StreamingTurnSplitter([]);

        Assert.Equal((null, "Hello "), splitter.Next("Hello <too", final: false));
        Assert.Equal((null, "<too"), splitter.Next("Hello <too", final: true));
    }

    [Fact]
    public void Reasoning_and_content_are_separated_and_tool_calls_never_streamed()
    {
        var splitter = new StreamingTurnSplitter([]);

        Assert.Equal(("I should look", null), splitter.Next("<think>\nI should look", final: false));
        Assert.Equal((" it up", "Checking."), splitter.Next("<think>\nI should look it up\n</think>\nChecking.", final: false));
        Assert.Equal((null, null), splitter.Next("<think>\nI should look it up\n</think>\nChecking.<tool_call>\n{\"name\"", final: false));
        Assert.Equal((null, null), splitter.Next(
            "<think>\nI should look it up\n</think>\nChecking.<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>", final: true));
    }

    [Fact]
    public void Stop_strings_and_half_characters_are_not_sent()
    {
        var splitter = new StreamingTurnSplitter(["END"]);

        Assert.Equal((null, "abc "), splitter.Next("abc E", final: false));
        Assert.Equal((null, "x"), splitter.Next("abc xEND more", final: true));
        var unicode = new StreamingTurnSplitter([]);
        Assert.Equal((null, "caf"), unicode.Next("caf\uFFFD", final: false));
        Assert.Equal((null, "é"), unicode.Next("café", final: false));
    }
}
