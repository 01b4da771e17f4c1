using Distill.Core.Samples;
using Distill.Models.Chat;
using Distill.Models.Llama;
using Distill.Models.Native;
using Distill.Models.Tokenization;
using Distill.Server.Engine;
using Distill.Server.Hosting;
using Distill.Teachers;
using Distill.Training.Data;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using TorchSharp;

namespace Distill.Cli.Tests;

/// <summary>
/// One agent format from training to serving: a tool-using conversation driven through the OpenAI client, HTTP and Distill's
/// server gives, at every assistant turn, exactly the token ids the trainer trains on for that prefix.
/// </summary>
public sealed class AgentFormatParityTests
{
    private const string Tools = """
        [{"type": "function", "function": {"name": "lookup_order", "description": "Look up an order by its id.",
          "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}},
         {"type": "function", "function": {"name": "track_shipment", "description": "Track a parcel.",
          "parameters": {"type": "object", "properties": {"tracking_number": {"type": "string"}, "verbose": {"type": "boolean"}}, "required": ["tracking_number"]}}}]
        """;

    /// <summary>What the agent says turn by turn (reasoning on every turn, as the trainer's data has it), then the tool results.</summary>
    private static readonly IReadOnlyList<(ChatMessage Assistant, IReadOnlyList<string> Results)> Script =
    [
        (ChatMessage.Assistant(null, [new ToolCall("call_1", "lookup_order", """{"order_id": "A10042"}""")], "The user asks about A10042: look it up."),
            ["""{"order_id": "A10042", "status": "shipped", "tracking_number": "TRK1"}"""]),
        (ChatMessage.Assistant("Let me track it.", [new ToolCall("call_2", "track_shipment", """{"tracking_number":"TRK1","verbose":false}""")], "Shipped: the tracking number is TRK1."),
            ["""{"estimated_delivery": "2026-12-05"}"""]),
        (ChatMessage.Assistant("Order A10042 has shipped and should arrive on 2026-12-05.", reasoning: "The ETA is 2026-12-05."), []),
    ];

    private static readonly ChatMessage[] Opening =
    [
        ChatMessage.System("You are the store's support agent."),
        ChatMessage.User("Where is my order A10042?"),
    ];

    [Theory]
    [InlineData(ChatToolFormat.Json)]
    [InlineData(ChatToolFormat.Compact)]
    public async Task Server_prompt_ids_at_every_assistant_turn_are_the_trainers_ids_for_that_prefix(ChatToolFormat format)
    {
        var chat = new ChatTemplateOptions { ToolFormat = format };
        var (prompts, conversation) = await RunAgentThroughServerAsync(chat, sendReasoning: true);

        var trained = new SampleEncoder(Tokenizer.Value, maxLength: 4096, chat: chat)
            .Encode(new Sample { Id = "parity", Kind = SampleKinds.ToolTrace, Messages = conversation, Tools = Tools }).Examples[0];

        Assert.Equal(Script.Count, prompts.Count);
        Assert.Equal(Script.Select(s => s.Assistant.Reasoning), conversation.Where(m => m.Role == ChatRoles.Assistant).Select(m => m.Reasoning));
        foreach (var prompt in prompts)
        {
            Assert.Equal(prompt, trained.InputIds.Take(prompt.Length));
            // The trainer's labels for this turn start right where the server's prompt ends.
            Assert.NotEqual(TokenizedChatLabels.Ignore, trained.Labels[prompt.Length - 1]);
            Assert.Equal(TokenizedChatLabels.Ignore, trained.Labels[prompt.Length - 2]);
        }
    }

    [Fact]
    public async Task Without_the_reasoning_sent_back_the_second_turn_leaves_the_training_distribution()
    {
        var chat = new ChatTemplateOptions { ToolFormat = ChatToolFormat.Compact };
        var (prompts, conversation) = await RunAgentThroughServerAsync(chat, sendReasoning: false);

        var trained = new SampleEncoder(Tokenizer.Value, maxLength: 4096, chat: chat)
            .Encode(new Sample { Id = "parity", Kind = SampleKinds.ToolTrace, Messages = conversation, Tools = Tools }).Examples[0];

        Assert.Equal(prompts[0], trained.InputIds.Take(prompts[0].Length));
        Assert.NotEqual(prompts[1], trained.InputIds.Take(prompts[1].Length));
    }

    /// <summary>
    /// Plays <see cref="Script"/> as a generation recipe does: the OpenAI client asks the server for the next turn, the reply
    /// (content, reasoning, tool calls) joins the history, tool results follow. Returns the ids the server's engine built for
    /// each request and the conversation as the recipe stores it.
    /// </summary>
    private static async Task<(List<int[]> Prompts, List<ChatMessage> Conversation)> RunAgentThroughServerAsync(ChatTemplateOptions chat, bool sendReasoning)
    {
        TorchNative.EnsureLoaded();
        torch.manual_seed(1);
        using var model = new LlamaForCausalLM(ModelPresets.Get("tiny-test", Tokenizer.Value.VocabSize));
        await using var llama = new LlamaChatEngine(model, Tokenizer.Value, new ChatTemplate(chat), "agent");
        var engine = new ScriptedLlamaEngine(llama, Script.Select(s => s.Assistant));
        await using var app = ChatServer.Build(engine, new ServeOptions { Port = 0 }, apiKey: null);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var client = new OpenAIChatTeacher(new TeacherOptions
        {
            Name = "agent",
            Endpoint = address.TrimEnd('/') + "/v1",
            Model = "agent",
            MaxRetries = 0,
            SendReasoning = sendReasoning,
        });

        var conversation = Opening.ToList();
        foreach (var (_, results) in Script)
        {
            var response = await client.CompleteAsync(new TeacherRequest { Messages = conversation, Tools = Tools, Temperature = 0 });
            conversation.Add(ChatMessage.Assistant(response.Content, response.ToolCalls, response.Reasoning));
            conversation.AddRange(response.ToolCalls.Zip(results, (call, result) => ChatMessage.Tool(call.Id, call.Name, result)));
        }
        await app.StopAsync();
        return (engine.Prompts, conversation);
    }

    private static readonly Lazy<ITextTokenizer> Tokenizer = new(() =>
    {
        var corpus = Enumerable.Range(0, 30).Select(i =>
            $"Order A{10000 + i} has shipped; tracking TRK{i} arrives 2026-12-0{i % 9 + 1}. lookup_order track_shipment order_id tracking_number {Tools}");
        return TokenizerLoader.Create(BpeTrainer.Train(corpus, 400, ChatTokens.All));
    });

    /// <summary>
    /// The real engine's prompt (<see cref="LlamaChatEngine.PromptIds"/>) for every request, answered with the next scripted
    /// turn instead of the random model's text, so the conversation goes where the test needs it.
    /// </summary>
    private sealed class ScriptedLlamaEngine(LlamaChatEngine inner, IEnumerable<ChatMessage> turns) : IChatEngine
    {
        private readonly Queue<ChatMessage> _turns = new(turns);

        public List<int[]> Prompts { get; } = [];
        public string ModelId => inner.ModelId;
        public int ContextLength => 1 << 20; // the tiny model's 128 positions are not what this test is about
        public int CountPromptTokens(EngineRequest request) => inner.PromptIds(request).Length;

        public Task<EngineResult> CompleteAsync(EngineRequest request, CancellationToken cancellationToken)
        {
            Prompts.Add(inner.PromptIds(request));
            var turn = _turns.Dequeue();
            var choice = new EngineChoice(0, turn.Content, turn.Reasoning, turn.ToolCalls,
                turn.ToolCalls.Count > 0 ? FinishReasons.ToolCalls : FinishReasons.Stop, null);
            return Task.FromResult(new EngineResult([choice], new EngineUsage(Prompts[^1].Length, 1)));
        }

        public IAsyncEnumerable<EngineDelta> StreamAsync(EngineRequest request, CancellationToken cancellationToken) =>
            throw new NotSupportedException("the parity test does not stream");
    }
}
