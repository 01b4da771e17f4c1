using System.Text.Encodings.Web;
using System.Text.Json;

namespace Distill.Models.Tokenization;

/// <summary>
/// Writes the tokenizer_config.json that sits beside tokenizer.json in a Hugging Face model folder. It carries what
/// tokenizer.json cannot: which tokens are BOS, EOS and PAD. <see cref="TokenizerLoader.Load"/> reads it back, and
/// transformers' AutoTokenizer opens the folder as a PreTrainedTokenizerFast.
/// </summary>
public static class TokenizerConfigWriter
{
    /// <summary>Writes tokenizer.json and tokenizer_config.json into <paramref name="directory"/>.</summary>
    public static void SaveModelFolder(string directory, BpeTokenizerDefinition definition, SpecialTokenNames names)
    {
        TokenizerJsonWriter.WriteFile(definition, Path.Combine(directory, "tokenizer.json"));
        WriteFile(Path.Combine(directory, "tokenizer_config.json"), names);
    }

    public static void WriteFile(string path, SpecialTokenNames names)
    {
        var config = new Dictionary<string, object?>
        {
            ["tokenizer_class"] = "PreTrainedTokenizerFast",
            ["bos_token"] = names.Bos,
            ["eos_token"] = names.Eos,
            ["pad_token"] = names.Pad,
            ["unk_token"] = null,
            // Byte-level BPE restores spaces exactly; the legacy clean-up would alter decoded text.
            ["clean_up_tokenization_spaces"] = false,
            ["add_prefix_space"] = false,
        };
        var json = JsonSerializer.Serialize(config, new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temp = path + ".tmp";
        File.WriteAllText(temp, json);
        File.Move(temp, path, overwrite: true);
    }
}
