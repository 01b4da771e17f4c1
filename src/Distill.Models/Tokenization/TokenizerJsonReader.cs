using System.Text.Json;
using Distill.Core.Errors;

namespace Distill.Models.Tokenization;

/// <summary>
/// Reads a Hugging Face tokenizer.json into a <see cref="BpeTokenizerDefinition"/>. Only byte-level BPE is accepted
/// (GPT-2, Llama 3, Qwen2, SmolLM); anything else is refused by name rather than tokenized subtly wrong.
/// </summary>
public static class TokenizerJsonReader
{
    public static BpeTokenizerDefinition ReadFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new DistillException($"Tokenizer file '{path}' does not exist.", "Point to the tokenizer.json of the model or run.");
        }
        return Read(File.ReadAllText(path), path);
    }

    /// <param name="json">The content of a tokenizer.json.</param>
    /// <param name="source">Named in error messages.</param>
    public static BpeTokenizerDefinition Read(string json, string source)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new DistillException($"Tokenizer file '{source}' is not valid JSON: {e.Message}", "Re-download or re-save the tokenizer.json.", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            {
                throw Unsupported(source, "it has no \"model\" object", "Only Hugging Face tokenizer.json files are read.");
            }
            var modelType = model.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            // Old files omit model.type; a vocab plus merges is what marks BPE then.
            modelType ??= model.TryGetProperty("merges", out _) ? "BPE" : "(missing)";
            if (modelType != "BPE")
            {
                throw Unsupported(source, $"its model type is {modelType}",
                    "Only byte-level BPE (GPT-2, Llama 3, Qwen2, SmolLM) is supported; SentencePiece Unigram, WordPiece and WordLevel are not.");
            }
            RequireEmptyOrNull(model, "continuing_subword_prefix", source);
            RequireEmptyOrNull(model, "end_of_word_suffix", source);
            if (model.TryGetProperty("byte_fallback", out var byteFallback) && byteFallback.ValueKind == JsonValueKind.True)
            {
                throw Unsupported(source, "it is a SentencePiece-style BPE with byte_fallback (Llama 2, Mistral)",
                    "Only byte-level BPE (GPT-2, Llama 3, Qwen2, SmolLM) is supported.");
            }
            if (model.TryGetProperty("dropout", out var dropout) && dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() > 0)
            {
                throw Unsupported(source, "it uses BPE dropout", "Dropout is for training tokenizers, not for encoding; set \"dropout\" to null.");
            }

            var splitPatterns = ReadPreTokenizer(root, source);
            RequireByteLevelDecoder(root, source);

            return new BpeTokenizerDefinition
            {
                Vocab = ReadVocab(model, source),
                Merges = ReadMerges(model, source),
                AddedTokens = ReadAddedTokens(root, source),
                SplitPatterns = splitPatterns,
                NormalizeNfc = ReadNormalizer(root, source),
                IgnoreMerges = model.TryGetProperty("ignore_merges", out var ignore) && ignore.ValueKind == JsonValueKind.True,
                UnknownToken = model.TryGetProperty("unk_token", out var unk) && unk.ValueKind == JsonValueKind.String ? unk.GetString() : null,
                Source = source,
            };
        }
    }

    private static Dictionary<string, int> ReadVocab(JsonElement model, string source)
    {
        if (!model.TryGetProperty("vocab", out var vocab) || vocab.ValueKind != JsonValueKind.Object)
        {
            throw Corrupt(source, "model.vocab is missing or not an object");
        }
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in vocab.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out var id) || id < 0)
            {
                throw Corrupt(source, $"vocab entry \"{entry.Name}\" has no valid id");
            }
            result[entry.Name] = id;
        }
        return result;
    }

    private static List<(string, string)> ReadMerges(JsonElement model, string source)
    {
        var result = new List<(string, string)>();
        if (!model.TryGetProperty("merges", out var merges) || merges.ValueKind == JsonValueKind.Null)
        {
            return result;
        }
        foreach (var merge in merges.EnumerateArray())
        {
            // Older files write "a b"; tokenizers >= 0.20 writes ["a", "b"] so that tokens may contain spaces.
            if (merge.ValueKind == JsonValueKind.String)
            {
                var text = merge.GetString()!;
                var space = text.IndexOf(' ', 1);
                if (space < 0 || space == text.Length - 1)
                {
                    throw Corrupt(source, $"merge \"{text}\" is not two tokens separated by a space");
                }
                result.Add((text[..space], text[(space + 1)..]));
            }
            else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2
                     && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
            {
                result.Add((merge[0].GetString()!, merge[1].GetString()!));
            }
            else
            {
                throw Corrupt(source, $"merge {merge.GetRawText()} is neither \"a b\" nor [\"a\", \"b\"]");
            }
        }
        return result;
    }

    private static List<AddedToken> ReadAddedTokens(JsonElement root, string source)
    {
        var result = new List<AddedToken>();
        if (!root.TryGetProperty("added_tokens", out var added) || added.ValueKind != JsonValueKind.Array)
        {
            return result;
        }
        foreach (var token in added.EnumerateArray())
        {
            if (!token.TryGetProperty("id", out var id) || !id.TryGetInt32(out var idValue)
                || !token.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String)
            {
                throw Corrupt(source, $"added token {token.GetRawText()} lacks an id or content");
            }
            var special = token.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True;
            result.Add(new AddedToken(idValue, content.GetString()!, special));
        }
        return result;
    }

    private static bool ReadNormalizer(JsonElement root, string source)
    {
        if (!root.TryGetProperty("normalizer", out var normalizer) || normalizer.ValueKind == JsonValueKind.Null)
        {
            return false;
        }
        var type = TypeOf(normalizer);
        if (type == "NFC")
        {
            return true;
        }
        if (type == "Sequence" && normalizer.TryGetProperty("normalizers", out var parts))
        {
            var nfc = false;
            foreach (var part in parts.EnumerateArray())
            {
                nfc |= ReadNormalizerPart(part, source);
            }
            return nfc;
        }
        throw Unsupported(source, $"its normalizer is {type}", "Only no normalizer or NFC is supported for byte-level BPE.");
    }

    private static bool ReadNormalizerPart(JsonElement part, string source) => TypeOf(part) switch
    {
        "NFC" => true,
        var other => throw Unsupported(source, $"its normalizer sequence contains {other}", "Only no normalizer or NFC is supported for byte-level BPE."),
    };

    private static List<string> ReadPreTokenizer(JsonElement root, string source)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind == JsonValueKind.Null)
        {
            throw Unsupported(source, "it has no pre_tokenizer", "Byte-level BPE needs a ByteLevel pre-tokenizer.");
        }
        var parts = TypeOf(pre) == "Sequence" && pre.TryGetProperty("pretokenizers", out var list)
            ? list.EnumerateArray().ToList()
            : [pre];
        var patterns = new List<string>();
        var sawByteLevel = false;
        foreach (var part in parts)
        {
            switch (TypeOf(part))
            {
                case "ByteLevel":
                    if (part.TryGetProperty("add_prefix_space", out var prefix) && prefix.ValueKind == JsonValueKind.True)
                    {
                        throw Unsupported(source, "its ByteLevel pre-tokenizer has add_prefix_space true",
                            "Set add_prefix_space to false (GPT-2 style prefix spaces are not supported).");
                    }
                    var useRegex = !part.TryGetProperty("use_regex", out var regex) || regex.ValueKind != JsonValueKind.False;
                    if (useRegex)
                    {
                        patterns.Add(PreTokenizerPatterns.Gpt2);
                    }
                    sawByteLevel = true;
                    break;
                case "Split":
                    patterns.Add(ReadSplit(part, source));
                    break;
                case "Digits":
                    var individual = part.TryGetProperty("individual_digits", out var digits) && digits.ValueKind == JsonValueKind.True;
                    patterns.Add(individual ? @"\p{N}" : @"\p{N}+");
                    break;
                case var other:
                    throw Unsupported(source, $"its pre-tokenizer is {other}",
                        "Only ByteLevel, Split (Isolated) and Digits pre-tokenizers are supported: this does not look like byte-level BPE.");
            }
        }
        if (!sawByteLevel)
        {
            throw Unsupported(source, "its pre-tokenizer has no ByteLevel step",
                "Only byte-level BPE is supported (Metaspace / whitespace BPE such as Llama 2 is not).");
        }
        return patterns;
    }

    private static string ReadSplit(JsonElement split, string source)
    {
        var behavior = split.TryGetProperty("behavior", out var b) ? b.GetString() : null;
        var invert = split.TryGetProperty("invert", out var inv) && inv.ValueKind == JsonValueKind.True;
        if (behavior != "Isolated" || invert)
        {
            throw Unsupported(source, $"its Split pre-tokenizer uses behavior {behavior ?? "(missing)"}{(invert ? " inverted" : "")}",
                "Only Split with behavior Isolated (as Llama 3 and Qwen2 use) is supported.");
        }
        if (split.TryGetProperty("pattern", out var pattern))
        {
            if (pattern.TryGetProperty("Regex", out var regex) && regex.ValueKind == JsonValueKind.String)
            {
                return regex.GetString()!;
            }
            if (pattern.TryGetProperty("String", out var literal) && literal.ValueKind == JsonValueKind.String)
            {
                return System.Text.RegularExpressions.Regex.Escape(literal.GetString()!);
            }
        }
        throw Corrupt(source, "a Split pre-tokenizer has no pattern");
    }

    private static void RequireByteLevelDecoder(JsonElement root, string source)
    {
        if (!root.TryGetProperty("decoder", out var decoder) || decoder.ValueKind == JsonValueKind.Null)
        {
            return;
        }
        var type = TypeOf(decoder);
        if (type != "ByteLevel")
        {
            throw Unsupported(source, $"its decoder is {type}", "Only the ByteLevel decoder is supported.");
        }
    }

    private static void RequireEmptyOrNull(JsonElement model, string property, string source)
    {
        if (model.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String && value.GetString()!.Length > 0)
        {
            throw Unsupported(source, $"its BPE model sets {property} \"{value.GetString()}\"",
                "Only byte-level BPE without subword prefixes or suffixes is supported.");
        }
    }

    private static string TypeOf(JsonElement element) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String
            ? type.GetString()!
            : "(no type)";

    private static DistillException Unsupported(string source, string what, string hint) =>
        new($"Tokenizer '{source}' is not supported: {what}.", hint);

    private static DistillException Corrupt(string source, string what) =>
        new($"Tokenizer file '{source}' is malformed: {what}.", "Re-download or re-save the tokenizer.json.");
}
