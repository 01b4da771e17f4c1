using System.Text.Json;
using Distill.Cli.Composition;
using Distill.Models.Chat;
using Distill.Models.Tokenization;
using Distill.Generation.Tools;
using Distill.World.Store;
using Distill.World.Tools;
using Xunit.Abstractions;

namespace Distill.Cli.Tests;

/// <summary>The compact tool format on the embedded world: its five tools in a small model's context.</summary>
public sealed class WorldCompactToolsTests(ITestOutputHelper output)
{
    [Fact]
    public void World_tools_take_well_under_half_the_tokens_in_the_compact_format()
    {
        var toolsJson = ToolSchemas.ToOpenAiTools(StoreTools.CreatePlugin(new StoreWorld())).ToJsonString();
        var tools = JsonDocument.Parse(toolsJson).RootElement.EnumerateArray().Select(t => t.Clone()).ToList();
        var tokenizer = TokenizerLoader.Create(WorldTokenizer.Train());
        var user = new[] { Distill.Core.Samples.ChatMessage.User("Where is my order?") };
        int SystemTurnTokens(ChatToolFormat format) =>
            new ChatTemplate(new ChatTemplateOptions { ToolFormat = format, DefaultSystemPrompt = null }).Tokenize(tokenizer, user, toolsJson).Ids.Length
            - new ChatTemplate(new ChatTemplateOptions { DefaultSystemPrompt = null }).Tokenize(tokenizer, user).Ids.Length;

        var section = CompactToolSignatures.Section(tools);
        var compact = SystemTurnTokens(ChatToolFormat.Compact);
        var json = SystemTurnTokens(ChatToolFormat.Json);
        foreach (var line in section.Split('\n'))
            output.WriteLine($"{tokenizer.Encode(line).Length,4} tokens  {line}");
        output.WriteLine($"{tools.Count} world tools in the system turn: compact {compact} tokens, json {json} tokens (world tokenizer {tokenizer.TokenizerId})");

        Assert.Equal(5, tools.Count);
        // One short clause per tool: the five fit in under 120 tokens of a small model's context.
        Assert.True(compact < 120, $"compact tools take {compact} tokens");
        Assert.True(compact * 5 < json * 2, $"compact {compact} tokens vs json {json}");
    }
}
