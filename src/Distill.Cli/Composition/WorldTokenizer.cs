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
/// question shapes its merges. Deterministic: same world, same tokenizer id.
/// </summary>
public static class WorldTokenizer
{
    public const int DefaultVocabSize = 2048;

    public static BpeTokenizerDefinition Train(int vocabSize = DefaultVocabSize, int conversations = 600)
    {
        var world = new StoreWorld();
        var demonstrations = new ScriptedDemonstrations(world);
        var template = new ChatTemplate();
        var tools = ToolSchemas.ToOpenAiTools(StoreTools.CreatePlugin(world)).ToJsonString();
        var corpus = new WorldTaskGenerator(world).Generate(WorldSplits.Train, conversations)
            .Select(task => template.Render(demonstrations.For(task), tools).Text);
        return BpeTrainer.Train(corpus, vocabSize, ChatTokens.All);
    }
}
