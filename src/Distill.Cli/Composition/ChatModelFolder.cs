using Distill.Core.Errors;
using Distill.Models.Chat;
using Distill.Models.Checkpoints;
using Distill.Models.Llama;
using Distill.Models.Lora;
using Distill.Models.Tokenization;
using TorchSharp;

namespace Distill.Cli.Composition;

/// <summary>
/// A model folder that can chat: weights + config.json + tokenizer.json (as Hugging Face lays them out), and the chat template
/// options it was trained with (chat_template_options.json; the defaults when the folder has none).
/// </summary>
public sealed record ChatModelFolder(string Path, LlamaForCausalLM Model, ITextTokenizer Tokenizer, ChatTemplateOptions ChatOptions) : IDisposable
{
    public const string TokenizerFile = "tokenizer.json";

    /// <param name="adapterDir">A PEFT LoRA adapter folder to fold into the weights at load time, or null.</param>
    public static ChatModelFolder Load(string dir, torch.Device device, string? adapterDir = null)
    {
        var tokenizerPath = System.IO.Path.Combine(dir, TokenizerFile);
        if (!File.Exists(tokenizerPath))
        {
            throw new DistillException($"Model folder '{dir}' has no {TokenizerFile}.",
                "Copy the tokenizer.json the model was trained with into the folder (`distill model init` writes one).");
        }
        var tokenizer = TokenizerLoader.Load(tokenizerPath);
        var chat = (adapterDir is null ? ChatTemplateOptionsFile.Load(dir) : PeftAdapter.ChatOptionsOf(dir, adapterDir)) ?? new ChatTemplateOptions();
        var model = (adapterDir is null ? ModelFolder.Load(dir, device) : PeftAdapter.LoadMerged(dir, adapterDir, device)).Freeze();
        if (tokenizer.VocabSize > model.Config.VocabSize)
        {
            model.Dispose();
            throw new DistillException(
                $"The tokenizer in '{dir}' has {tokenizer.VocabSize} tokens but the model only {model.Config.VocabSize} embedding rows.",
                "Use the tokenizer the model was created with.");
        }
        return new ChatModelFolder(dir, model, tokenizer, chat);
    }

    /// <summary>The chat template the model was trained with: what serving and evaluation must render.</summary>
    public ChatTemplate Template => new(ChatOptions);

    public void Dispose() => Model.Dispose();
}
