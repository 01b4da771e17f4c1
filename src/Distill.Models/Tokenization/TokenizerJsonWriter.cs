using System.Text.Encodings.Web;
using System.Text.Json;

namespace Distill.Models.Tokenization;

/// <summary>
/// Writes a definition as a Hugging Face tokenizer.json that Python's <c>tokenizers.Tokenizer.from_file</c> and
/// transformers load as is: every top-level field present, merges as "a b" strings (readable by every
/// tokenizers version, and byte-level tokens never contain a space).
/// </summary>
public static class TokenizerJsonWriter
{
    public static void WriteFile(BpeTokenizerDefinition definition, string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        // Written beside and renamed, so a crash never leaves a half-written tokenizer behind.
        var temp = path + ".tmp";
        File.WriteAllText(temp, ToJson(definition));
        File.Move(temp, path, overwrite: true);
    }

    public static string ToJson(BpeTokenizerDefinition definition)
    {
        if (definition.Merges.Any(m => m.Left.Contains(' ') || m.Right.Contains(' ')))
        {
            throw new InvalidOperationException("A merge contains a space; \"a b\" merge strings cannot express it.");
        }
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("version", "1.0");
            json.WriteNull("truncation");
            json.WriteNull("padding");
            json.WriteStartArray("added_tokens");
            foreach (var token in definition.AddedTokens.OrderBy(t => t.Id))
            {
                json.WriteStartObject();
                json.WriteNumber("id", token.Id);
                json.WriteString("content", token.Content);
                json.WriteBoolean("single_word", false);
                json.WriteBoolean("lstrip", false);
                json.WriteBoolean("rstrip", false);
                json.WriteBoolean("normalized", false);
                json.WriteBoolean("special", token.Special);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            WriteNormalizer(json, definition);
            WritePreTokenizer(json, definition);
            WriteByteLevel(json, "post_processor", addPrefixSpace: true, trimOffsets: false);
            WriteByteLevel(json, "decoder", addPrefixSpace: true, trimOffsets: true);
            WriteModel(json, definition);
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteNormalizer(Utf8JsonWriter json, BpeTokenizerDefinition definition)
    {
        if (!definition.NormalizeNfc)
        {
            json.WriteNull("normalizer");
            return;
        }
        json.WriteStartObject("normalizer");
        json.WriteString("type", "NFC");
        json.WriteEndObject();
    }

    // A lone GPT-2 pattern is exactly ByteLevel(use_regex: true); anything else is written as Split steps before a
    // regex-free ByteLevel, which is how Llama 3 and Qwen2 files express their patterns.
    private static void WritePreTokenizer(Utf8JsonWriter json, BpeTokenizerDefinition definition)
    {
        if (definition.SplitPatterns is [PreTokenizerPatterns.Gpt2])
        {
            WriteByteLevel(json, "pre_tokenizer", addPrefixSpace: false, trimOffsets: true, useRegex: true);
            return;
        }
        json.WriteStartObject("pre_tokenizer");
        json.WriteString("type", "Sequence");
        json.WriteStartArray("pretokenizers");
        foreach (var pattern in definition.SplitPatterns)
        {
            json.WriteStartObject();
            json.WriteString("type", "Split");
            json.WriteStartObject("pattern");
            json.WriteString("Regex", pattern);
            json.WriteEndObject();
            json.WriteString("behavior", "Isolated");
            json.WriteBoolean("invert", false);
            json.WriteEndObject();
        }
        WriteByteLevel(json, null, addPrefixSpace: false, trimOffsets: false, useRegex: false);
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteByteLevel(Utf8JsonWriter json, string? property, bool addPrefixSpace, bool trimOffsets, bool useRegex = true)
    {
        if (property is null)
        {
            json.WriteStartObject();
        }
        else
        {
            json.WriteStartObject(property);
        }
        json.WriteString("type", "ByteLevel");
        json.WriteBoolean("add_prefix_space", addPrefixSpace);
        json.WriteBoolean("trim_offsets", trimOffsets);
        json.WriteBoolean("use_regex", useRegex);
        json.WriteEndObject();
    }

    private static void WriteModel(Utf8JsonWriter json, BpeTokenizerDefinition definition)
    {
        json.WriteStartObject("model");
        json.WriteString("type", "BPE");
        json.WriteNull("dropout");
        if (definition.UnknownToken is null)
        {
            json.WriteNull("unk_token");
        }
        else
        {
            json.WriteString("unk_token", definition.UnknownToken);
        }
        json.WriteNull("continuing_subword_prefix");
        json.WriteNull("end_of_word_suffix");
        json.WriteBoolean("fuse_unk", false);
        json.WriteBoolean("byte_fallback", false);
        // Written only when set: tokenizers releases before the field existed read files without it.
        if (definition.IgnoreMerges)
        {
            json.WriteBoolean("ignore_merges", true);
        }
        json.WriteStartObject("vocab");
        foreach (var (token, id) in definition.Vocab.OrderBy(e => e.Value))
        {
            json.WriteNumber(token, id);
        }
        json.WriteEndObject();
        json.WriteStartArray("merges");
        foreach (var (left, right) in definition.Merges)
        {
            json.WriteStringValue($"{left} {right}");
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }
}
