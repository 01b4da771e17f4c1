using System.Globalization;
using System.Text.Json.Nodes;
using Distill.Models.Native;
using Distill.Models.SafeTensors;
using Distill.Models.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Distill.Cli.Tests.Examples;

/// <summary>Shape of a tiny Qwen2 checkpoint (the real ones differ only in size).</summary>
public sealed record Qwen2Shape(int Hidden, int Intermediate, int Layers, int Heads, int KeyValueHeads, bool TiedEmbeddings);

/// <summary>
/// Writes a model folder laid out as a Qwen2 release on the Hugging Face Hub is: `config.json` with the Hub's keys (including
/// the ones Distill does not use), `model.safetensors` in bfloat16 with the Hub's tensor names, written by name here rather
/// than by saving one of Distill's modules, `tokenizer.json` in Qwen2's layout, and the Hub's `tokenizer_config.json` (with
/// its Jinja chat template) and `generation_config.json`. Weights are random: this checks the format, not a model.
/// </summary>
public static class HuggingFaceCheckpoint
{
    /// <summary>A byte-level BPE in Qwen2's layout with the ChatML and tool tokens (each one id), trained on a few sentences.</summary>
    public static BpeTokenizerDefinition Qwen2StyleTokenizer() =>
        BpeTrainer.Train(
            Enumerable.Range(0, 30).Select(i => $"Where is order ORD-{1000 + i}? It shipped on 2026-11-{i % 28 + 1:D2}; refund {i}.50 USD."),
            400, ChatTokens.All, splitPatterns: [PreTokenizerPatterns.Qwen2]);

    public static void WriteQwen2(string dir, BpeTokenizerDefinition tokenizer, Qwen2Shape shape, int seed)
    {
        TorchNative.EnsureLoaded();
        Directory.CreateDirectory(dir);
        // A tokenizer without the ChatML tokens (Llama 3's) gets its first special token as BOS, EOS and PAD.
        string Named(string token) => tokenizer.AddedTokens.Any(t => t.Content == token) ? token : tokenizer.AddedTokens[0].Content;
        int Id(string token) => tokenizer.AddedTokens.First(t => t.Content == token).Id;
        var endOfTextToken = Named(ChatTokens.EndOfText);
        var imEndToken = Named(ChatTokens.ImEnd);
        var endOfText = Id(endOfTextToken);
        var imEnd = Id(imEndToken);
        // The Hub pads the embedding past the tokenizer (Qwen2.5: 151,936 rows for 151,665 tokens); so does this folder.
        var vocab = (tokenizer.Vocab.Values.Concat(tokenizer.AddedTokens.Select(t => t.Id)).Max() + 1 + 63) / 64 * 64;

        var config = new JsonObject
        {
            ["architectures"] = new JsonArray("Qwen2ForCausalLM"),
            ["attention_dropout"] = 0.0,
            ["bos_token_id"] = endOfText,
            ["eos_token_id"] = imEnd,
            ["hidden_act"] = "silu",
            ["hidden_size"] = shape.Hidden,
            ["initializer_range"] = 0.02,
            ["intermediate_size"] = shape.Intermediate,
            ["max_position_embeddings"] = 32768,
            ["max_window_layers"] = shape.Layers,
            ["model_type"] = "qwen2",
            ["num_attention_heads"] = shape.Heads,
            ["num_hidden_layers"] = shape.Layers,
            ["num_key_value_heads"] = shape.KeyValueHeads,
            ["rms_norm_eps"] = 1e-06,
            ["rope_scaling"] = null,
            ["rope_theta"] = 1000000.0,
            ["sliding_window"] = 32768,
            ["tie_word_embeddings"] = shape.TiedEmbeddings,
            ["torch_dtype"] = "bfloat16",
            ["transformers_version"] = "4.43.1",
            ["use_cache"] = true,
            ["use_sliding_window"] = false,
            ["vocab_size"] = vocab,
        };
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString(new() { WriteIndented = true }));
        File.WriteAllText(Path.Combine(dir, "generation_config.json"), $$"""
            {
              "bos_token_id": {{endOfText}},
              "pad_token_id": {{endOfText}},
              "do_sample": true,
              "eos_token_id": [{{imEnd}}, {{endOfText}}],
              "repetition_penalty": 1.1,
              "temperature": 0.7,
              "top_p": 0.8,
              "top_k": 20,
              "transformers_version": "4.37.0"
            }
            """);
        TokenizerJsonWriter.WriteFile(tokenizer, Path.Combine(dir, "tokenizer.json"));
        var addedTokens = new JsonObject();
        foreach (var token in tokenizer.AddedTokens)
        {
            addedTokens[token.Id.ToString(CultureInfo.InvariantCulture)] = new JsonObject
            {
                ["content"] = token.Content,
                ["lstrip"] = false,
                ["normalized"] = false,
                ["rstrip"] = false,
                ["single_word"] = false,
                ["special"] = token.Special,
            };
        }
        var tokenizerConfig = new JsonObject
        {
            ["add_bos_token"] = false,
            ["add_prefix_space"] = false,
            ["added_tokens_decoder"] = addedTokens,
            ["additional_special_tokens"] = new JsonArray(tokenizer.AddedTokens.Select(t => (JsonNode?)t.Content).ToArray()),
            ["bos_token"] = null,
            ["chat_template"] = "{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}",
            ["clean_up_tokenization_spaces"] = false,
            ["eos_token"] = imEndToken,
            ["errors"] = "replace",
            ["model_max_length"] = 131072,
            ["pad_token"] = endOfTextToken,
            ["split_special_tokens"] = false,
            ["tokenizer_class"] = "Qwen2Tokenizer",
            ["unk_token"] = null,
        };
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), tokenizerConfig.ToJsonString(new() { WriteIndented = true }));

        using var scope = NewDisposeScope();
        var generator = new Generator((ulong)seed);
        Tensor Random(params long[] shapeOf) => (randn(shapeOf, generator: generator) * 0.02f).to(ScalarType.BFloat16);
        Tensor Ones(long size) => ones(size, ScalarType.BFloat16);
        var headDim = shape.Hidden / shape.Heads;
        var keyValue = shape.KeyValueHeads * headDim;
        var tensors = new List<KeyValuePair<string, Tensor>> { new("model.embed_tokens.weight", Random(vocab, shape.Hidden)) };
        for (var layer = 0; layer < shape.Layers; layer++)
        {
            var p = $"model.layers.{layer}.";
            tensors.AddRange(
            [
                new(p + "self_attn.q_proj.weight", Random(shape.Hidden, shape.Hidden)),
                new(p + "self_attn.q_proj.bias", Random(shape.Hidden)),
                new(p + "self_attn.k_proj.weight", Random(keyValue, shape.Hidden)),
                new(p + "self_attn.k_proj.bias", Random(keyValue)),
                new(p + "self_attn.v_proj.weight", Random(keyValue, shape.Hidden)),
                new(p + "self_attn.v_proj.bias", Random(keyValue)),
                new(p + "self_attn.o_proj.weight", Random(shape.Hidden, shape.Hidden)),
                new(p + "mlp.gate_proj.weight", Random(shape.Intermediate, shape.Hidden)),
                new(p + "mlp.up_proj.weight", Random(shape.Intermediate, shape.Hidden)),
                new(p + "mlp.down_proj.weight", Random(shape.Hidden, shape.Intermediate)),
                new(p + "input_layernorm.weight", Ones(shape.Hidden)),
                new(p + "post_attention_layernorm.weight", Ones(shape.Hidden)),
            ]);
        }
        tensors.Add(new("model.norm.weight", Ones(shape.Hidden)));
        if (!shape.TiedEmbeddings) tensors.Add(new("lm_head.weight", Random(vocab, shape.Hidden)));
        SafeTensorsWriter.Save(Path.Combine(dir, "model.safetensors"), tensors);
    }
}
