using Distill.Models.Tokenization;

namespace Distill.Models.Tests.Tokenization;

/// <summary>Tokenizers shared by tests; training once keeps the suite fast.</summary>
internal static class TestTokenizers
{
    private static readonly Lazy<BpeTokenizerDefinition> ChatDefinitionLazy =
        new(() => BpeTrainer.Train(TrainingCorpus.Documents(400), vocabSize: 600, ChatTokens.All));

    /// <summary>A byte-level BPE trained on <see cref="TrainingCorpus"/> with the chat special tokens.</summary>
    public static BpeTokenizerDefinition ChatDefinition => ChatDefinitionLazy.Value;

    public static ITextTokenizer Chat(TokenizerEngine engine = TokenizerEngine.Auto) =>
        TokenizerLoader.Create(ChatDefinition, SpecialTokenNames.ChatMl, engine);

    private static readonly Lazy<BpeTokenizerDefinition> SingleDigitDefinitionLazy =
        new(() => BpeTrainer.Train(TrainingCorpus.Documents(400), vocabSize: 600, ChatTokens.All, splitPatterns: [PreTokenizerPatterns.Qwen2]));

    /// <summary>As <see cref="ChatDefinition"/>, trained with Qwen2's split pattern: every digit a token of its own.</summary>
    public static BpeTokenizerDefinition SingleDigitDefinition => SingleDigitDefinitionLazy.Value;

    public static ITextTokenizer SingleDigit(TokenizerEngine engine = TokenizerEngine.Auto) =>
        TokenizerLoader.Create(SingleDigitDefinition, SpecialTokenNames.ChatMl, engine);
}

/// <summary>A scratch folder deleted after the test.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "distill-tok-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
