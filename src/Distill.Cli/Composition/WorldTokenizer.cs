using Distill.Generation.Tools;
using Distill.Models.Chat;
using Distill.Models.Tokenization;
using Distill.World.Store;
using Distill.World.Tasks;
using Distill.World.Tools;

namespace Distill.Cli.Composition;

/// <summary>
/// The embedded world's tokenizer: byte-level BPE trained on the world's rendered conversations (tools, tool calls, results,
/// reasoning), so a small vocabulary covers the domain well. Trained on train-split tasks only, so no dev or held-out order id or
/// question shapes its merges. Deterministic: same world, same tokenizer id. Digits split one per token by default (Qwen2's
/// pattern): with GPT-2's, frequent order ids merge into single tokens that a small model memorises instead of learning to
/// copy the digits.
/// </summary>
public static class WorldTokenizer
{
    public const int DefaultVocabSize = 2048;

    /// <summary>How the world's models render tools: compact signatures, so a tool-using conversation fits a small context.</summary>
    public static readonly ChatTemplateOptions Chat = new() { ToolFormat = ChatToolFormat.Compact };

    /// <param name="splitPattern">The pre-tokenizer regex; <see cref="PreTokenizerPatterns.Gpt2"/> gives the tokenizer of earlier runs.</param>
    public static BpeTokenizerDefinition Train(int vocabSize = DefaultVocabSize, int conversations = 600, string splitPattern = PreTokenizerPatterns.Qwen2)
    {
        var corpus = Corpus(conversations);
        return BpeTrainer.Train(corpus, vocabSize, ChatTokens.All, splitPatterns: [splitPattern]);
    }

    /// <summary>The tokenizer's training text: rendered demonstrations of the first <paramref name="conversations"/> train tasks.</summary>
    public static IEnumerable<string> Corpus(int conversations = 600)
    {
        var world = new StoreWorld();
        var demonstrations = new ScriptedDemonstrations(world);
        var template = new ChatTemplate(Chat);
        var tools = ToolSchemas.ToOpenAiTools(StoreTools.CreatePlugin(world)).ToJsonString();
        return new WorldTaskGenerator(world).Generate(WorldSplits.Train, conversations)
            .Select(task => template.Render(demonstrations.For(task), tools).Text);
    }
}
