using System.Text.Json;
using Distill.Core.Errors;

namespace Distill.Models.Tokenization;

/// <summary>Opens a Hugging Face tokenizer.json (or a trained definition) as an <see cref="ITextTokenizer"/>.</summary>
public static class TokenizerLoader
{
    private static readonly string[] BosCandidates = ["<|begin_of_text|>", "<s>", "<|bos|>"];
    private static readonly string[] EosCandidates = [ChatTokens.ImEnd, "<|eot_id|>", "<|end_of_text|>", "</s>", ChatTokens.EndOfText];
    private static readonly string[] PadCandidates = ["<|pad|>", "<pad>", "<|finetune_right_pad_id|>", ChatTokens.EndOfText];

    /// <param name="path">A tokenizer.json file.</param>
    /// <param name="names">
    /// BOS/EOS/PAD token names. When null they come from a tokenizer_config.json beside the file, else from the first
    /// well-known name present (ChatML first: EOS &lt;|im_end|&gt;, PAD &lt;|endoftext|&gt;).
    /// </param>
    public static ITextTokenizer Load(string path, SpecialTokenNames? names = null, TokenizerEngine engine = TokenizerEngine.Auto)
    {
        var definition = TokenizerJsonReader.ReadFile(path);
        names ??= ReadConfigBeside(path);
        return Create(definition, names, engine);
    }

    public static ITextTokenizer Create(BpeTokenizerDefinition definition, SpecialTokenNames? names = null, TokenizerEngine engine = TokenizerEngine.Auto)
    {
        names ??= GuessNames(definition);
        switch (engine)
        {
            case TokenizerEngine.Own:
                return new ByteLevelBpeTokenizer(definition, names);
            case TokenizerEngine.MlTokenizers:
                if (!MlTokenizersBpeTokenizer.CanRun(definition, out var reason))
                {
                    throw new DistillException(
                        $"Tokenizer '{definition.Source}' cannot run on Microsoft.ML.Tokenizers: {reason}.",
                        "Use the automatic engine, which falls back to Distill's own byte-level BPE.");
                }
                return new MlTokenizersBpeTokenizer(definition, names);
            default:
                return MlTokenizersBpeTokenizer.CanRun(definition, out _)
                    ? new MlTokenizersBpeTokenizer(definition, names)
                    : new ByteLevelBpeTokenizer(definition, names);
        }
    }

    private static SpecialTokenNames? ReadConfigBeside(string tokenizerPath)
    {
        var configPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(tokenizerPath))!, "tokenizer_config.json");
        if (!File.Exists(configPath))
        {
            return null;
        }
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(configPath));
            var root = document.RootElement;
            return new SpecialTokenNames(TokenName(root, "bos_token"), TokenName(root, "eos_token"), TokenName(root, "pad_token"));
        }
        catch (JsonException e)
        {
            throw new DistillException($"Tokenizer config '{configPath}' is not valid JSON: {e.Message}", "Fix or delete the file.", e);
        }
    }

    // tokenizer_config.json writes a token either as a string or as an AddedToken object with "content".
    private static string? TokenName(JsonElement root, string property) =>
        !root.TryGetProperty(property, out var value) ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : value.ValueKind == JsonValueKind.Object && value.TryGetProperty("content", out var content) ? content.GetString()
        : null;

    private static SpecialTokenNames GuessNames(BpeTokenizerDefinition definition)
    {
        var known = definition.AddedTokens.Select(t => t.Content).Concat(definition.Vocab.Keys).ToHashSet(StringComparer.Ordinal);
        string? First(string[] candidates) => candidates.FirstOrDefault(known.Contains);
        return new SpecialTokenNames(First(BosCandidates), First(EosCandidates), First(PadCandidates));
    }
}
