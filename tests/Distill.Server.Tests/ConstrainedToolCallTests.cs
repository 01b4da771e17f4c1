using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using System.Text.Json;
using Distill.Models.Checkpoints;
using Distill.Models.Chat;
using Distill.Models.Llama;
using Distill.Models.Native;
using Distill.Models.Tokenization;
using Distill.Server.Engine;
using Distill.Server.Hosting;
using Distill.Server.Tests.Constraints;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using OpenAI.Chat;
using TorchSharp;

namespace Distill.Server.Tests;

/// <summary>
/// `distill model init` + `distill serve` in miniature: a randomly initialised model folder (config.json, model.safetensors,
/// tokenizer.json) loaded back from disk behind the real server and <see cref="LlamaChatEngine"/>.
/// </summary>
public sealed class RandomModelFolderServer : IAsyncLifetime
{
    public const string ModelId = "random";

    public const string ToolsJson = """
        [{"type": "function", "function": {"name": "weather", "description": "Forecast for a city", "parameters": {
          "type": "object",
          "properties": {
            "city": {"type": "string", "maxLength": 40},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer"},
            "hourly": {"type": "boolean"},
            "where": {"type": "object", "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}}, "required": ["lat", "lon"]},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 8}, "maxItems": 3},
            "note": {"type": ["string", "null"], "maxLength": 20}
          },
          "required": ["city", "unit", "days"],
          "additionalProperties": false}}},
         {"type": "function", "function": {"name": "ping", "description": "Check the service", "parameters": {"type": "object", "properties": {}}}}]
        """;

    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"distill-random-model-{Guid.NewGuid():N}");
    private LlamaForCausalLM _model = null!;
    private WebApplication _app = null!;

    public LlamaChatEngine Engine { get; private set; } = null!;
    public Uri BaseAddress { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        TorchNative.EnsureLoaded();
        Directory.CreateDirectory(_dir);
        var template = new ChatTemplate();
        var corpus = Enumerable.Range(0, 30).Select(i => template.Render(
            [Distill.Core.Samples.ChatMessage.User($"What is the weather in city {i}?"), Distill.Core.Samples.ChatMessage.Assistant($"It is {i} degrees.")], ToolsJson).Text);
        TokenizerJsonWriter.WriteFile(BpeTrainer.Train(corpus, 900, ChatTokens.All), Path.Combine(_dir, "tokenizer.json"));
        var tokenizer = TokenizerLoader.Load(Path.Combine(_dir, "tokenizer.json"));
        var config = ModelPresets.Get("tiny-test", tokenizer.VocabSize);
        config.MaxPositionEmbeddings = 1024;
        torch.manual_seed(42);
        using (var fresh = new LlamaForCausalLM(config))
        {
            ModelFolder.Save(fresh, _dir);
        }

        _model = ModelFolder.Load(_dir);
        Engine = new LlamaChatEngine(_model, tokenizer, template, ModelId, maxBatchRows: 16);
        _app = ChatServer.Build(Engine, new ServeOptions { Port = 0 }, apiKey: null);
        await _app.StartAsync();
        BaseAddress = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    public ChatClient Chat() => new(ModelId, new ApiKeyCredential("unused"), new OpenAIClientOptions
    {
        Endpoint = new Uri(BaseAddress, "/v1"),
        RetryPolicy = new ClientRetryPolicy(0),
    });

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        await Engine.DisposeAsync();
        _model.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}

public sealed class ConstrainedToolCallTests(RandomModelFolderServer server, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<RandomModelFolderServer>
{
    private static ChatCompletionOptions Options(ChatToolChoice choice, long seed, int maxTokens = 160)
    {
        var options = new ChatCompletionOptions
        {
            ToolChoice = choice,
            Temperature = 1f,
            MaxOutputTokenCount = maxTokens,
            IncludeLogProbabilities = true,
            TopLogProbabilityCount = 3,
        };
        using var tools = JsonDocument.Parse(RandomModelFolderServer.ToolsJson);
        foreach (var tool in tools.RootElement.EnumerateArray().Select(t => t.GetProperty("function")))
        {
            options.Tools.Add(ChatTool.CreateFunctionTool(tool.GetProperty("name").GetString()!, tool.GetProperty("description").GetString(),
                BinaryData.FromString(tool.GetProperty("parameters").GetRawText())));
        }
#pragma warning disable OPENAI001 // Seed is marked experimental in the SDK.
        options.Seed = seed;
#pragma warning restore OPENAI001
        return options;
    }

    /// <summary>The call's arguments, checked against the tool's schema by an independent validator.</summary>
    private static void AssertValidArguments(string name, string arguments)
    {
        using var tools = JsonDocument.Parse(RandomModelFolderServer.ToolsJson);
        var function = tools.RootElement.EnumerateArray().Select(t => t.GetProperty("function"))
            .Single(f => f.GetProperty("name").GetString() == name);
        using var parsed = JsonDocument.Parse(arguments);
        var errors = SchemaValidator.Validate(parsed.RootElement, function.GetProperty("parameters"));
        Assert.True(errors.Count == 0, $"{name}({arguments}): {string.Join("; ", errors)}");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("weather")]
    public async Task Forced_tool_choice_gives_valid_calls_with_logprobs_for_20_seeds(string? function)
    {
        var chat = server.Chat();
        var choice = function is null ? ChatToolChoice.CreateRequiredChoice() : ChatToolChoice.CreateFunctionChoice(function);

        var completions = await Task.WhenAll(Enumerable.Range(0, 20).Select(seed =>
            chat.CompleteChatAsync([new UserChatMessage("What is the weather in Paris?")], Options(choice, seed))));

        var names = new HashSet<string>();
        foreach (ChatCompletion completion in completions.Select(c => c.Value))
        {
            Assert.Equal(ChatFinishReason.ToolCalls, completion.FinishReason);
            var call = Assert.Single(completion.ToolCalls);
            AssertValidArguments(call.FunctionName, call.FunctionArguments.ToString());
            names.Add(call.FunctionName);
            Assert.True(function is null || call.FunctionName == function);
            output.WriteLine($"{call.FunctionName}({call.FunctionArguments}) in {completion.Usage.OutputTokenCount} tokens");
            Assert.Equal(completion.Usage.OutputTokenCount, completion.ContentTokenLogProbabilities.Count);
            Assert.All(completion.ContentTokenLogProbabilities, t =>
            {
                Assert.True(t.LogProbability <= 0);
                Assert.Equal(3, t.TopLogProbabilities.Count);
            });
        }
        Assert.NotEmpty(names);
    }

    [Fact]
    public async Task Named_function_is_called_with_valid_arguments_also_when_streamed()
    {
        var chat = server.Chat();
        for (var seed = 0; seed < 3; seed++)
        {
            var options = Options(ChatToolChoice.CreateFunctionChoice("weather"), seed);
            var name = new StringBuilder();
            var arguments = new StringBuilder();
            ChatFinishReason? finish = null;
            var logprobs = 0;

            await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Weather?")], options))
            {
                foreach (var call in update.ToolCallUpdates)
                {
                    name.Append(call.FunctionName);
                    arguments.Append(call.FunctionArgumentsUpdate?.ToString());
                }
                logprobs += update.ContentTokenLogProbabilities.Count;
                finish = update.FinishReason ?? finish;
            }

            Assert.Equal(ChatFinishReason.ToolCalls, finish);
            Assert.Equal("weather", name.ToString());
            AssertValidArguments("weather", arguments.ToString());
            Assert.True(logprobs > 0);
        }
    }

    [Fact]
    public async Task Too_few_max_tokens_end_with_finish_reason_length()
    {
        ChatCompletion completion = await server.Chat().CompleteChatAsync([new UserChatMessage("Weather?")],
            Options(ChatToolChoice.CreateFunctionChoice("weather"), seed: 1, maxTokens: 5));

        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.Empty(completion.ToolCalls);
    }

    [Fact]
    public async Task Unsupported_schema_keywords_are_a_400_naming_the_keyword()
    {
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var body = """
            {"model": "MODEL", "messages": [{"role": "user", "content": "hi"}], "tool_choice": "required",
             "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"s": {"type": "string", "pattern": "^a+$"}}}}}]}
            """.Replace("MODEL", RandomModelFolderServer.ModelId, StringComparison.Ordinal);

        var response = await http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");

        Assert.Equal(400, (int)response.StatusCode);
        Assert.Equal("tools[0].function.parameters.properties.s.pattern", error.GetProperty("param").GetString());
        Assert.Contains("'pattern' is not supported", error.GetProperty("message").GetString());
    }

    [NodeFact]
    public async Task Official_openai_npm_client_gets_well_formed_constrained_tool_calls_and_logprobs()
    {
        var folder = await NpmClient.EnsureInstalledAsync();
        var script = Path.Combine(folder, "constrained.mjs");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "npm", "constrained.mjs"), script, overwrite: true);

        var (code, output) = await NpmClient.RunAsync("node", folder, script, new Uri(server.BaseAddress, "/v1").ToString(),
            RandomModelFolderServer.ModelId, RandomModelFolderServer.ToolsJson);

        Assert.True(code == 0, output);
        var seen = JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal("tool_calls", seen.GetProperty("finish").GetString());
        AssertValidArguments(seen.GetProperty("name").GetString()!, seen.GetProperty("args").GetString()!);
        Assert.Equal(seen.GetProperty("completionTokens").GetInt32(), seen.GetProperty("logprobs").GetInt32());
        Assert.Equal(2, seen.GetProperty("topLogprobs").GetInt32());
        Assert.Equal("weather", seen.GetProperty("streamedName").GetString());
        AssertValidArguments("weather", seen.GetProperty("streamedArgs").GetString()!);
        Assert.Equal("tool_calls", seen.GetProperty("streamedFinish").GetString());
        Assert.True(seen.GetProperty("streamedLogprobs").GetInt32() > 0);
    }
}
