using System.Text;
using System.Text.Json;
using Distill.Cli.Composition;
using Distill.Core.Samples;
using Distill.Models.Chat;
using Distill.Models.Checkpoints;
using Distill.Models.Llama;
using Distill.Models.Native;
using Distill.Models.Tokenization;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;

namespace Distill.Cli.Tests;

/// <summary>The local model server (what serve, evaluate and the quickstart run) renders with the folder's saved chat options.</summary>
public sealed class ServedChatFormatTests : IDisposable
{
    private const string Tools = """[{"type": "function", "function": {"name": "lookup_order", "description": "Look up an order.", "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}}]""";
    private readonly string _folder = Directory.CreateTempSubdirectory("distill-chat-format-").FullName;

    [Fact]
    public async Task A_folder_with_compact_options_is_served_with_compact_tool_signatures()
    {
        var compact = new ChatTemplateOptions { ToolFormat = ChatToolFormat.Compact, DefaultSystemPrompt = null };
        var definition = BpeTrainer.Train(
            Enumerable.Range(0, 20).Select(i => new ChatTemplate(compact).Render([ChatMessage.User($"Where is order A{i}?")], Tools).Text), 400, ChatTokens.All);
        var tokenizer = TokenizerLoader.Create(definition);
        TorchNative.EnsureLoaded();
        using (var model = new LlamaForCausalLM(ModelPresets.Get("tiny-test", tokenizer.VocabSize)))
            ModelFolder.Save(model, _folder);
        TokenizerJsonWriter.WriteFile(definition, Path.Combine(_folder, ChatModelFolder.TokenizerFile));
        ChatTemplateOptionsFile.Save(_folder, compact);
        var user = new[] { ChatMessage.User("Where is order A3?") };

        await using var server = await LocalModelServer.StartAsync(_folder, "m", torch.CPU, 2, NullLoggerFactory.Instance);
        using var http = new HttpClient();
        var response = await http.PostAsync(new Uri(server.Endpoint + "/chat/completions"), new StringContent(
            $$"""{"model": "m", "max_tokens": 1, "temperature": 0, "tools": {{Tools}}, "messages": [{"role": "user", "content": "Where is order A3?"}]}""",
            Encoding.UTF8, "application/json"));
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.True(response.IsSuccessStatusCode, body.ToString());
        var served = body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32();
        Assert.Equal(new ChatTemplate(compact).Tokenize(tokenizer, user, Tools, addGenerationPrompt: true).Ids.Length, served);
        Assert.True(served < new ChatTemplate().Tokenize(tokenizer, user, Tools, addGenerationPrompt: true).Ids.Length);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
