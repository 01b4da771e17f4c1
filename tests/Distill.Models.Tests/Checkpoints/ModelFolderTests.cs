using System.Text.Json;
using Distill.Core.Errors;
using Distill.Models.Checkpoints;
using Distill.Models.Llama;
using Distill.Models.SafeTensors;
using Distill.Models.Tests.Llama;
using static TorchSharp.torch;

namespace Distill.Models.Tests.Checkpoints;

public class ModelFolderTests : TorchTest
{
    static Tensor Logits(LlamaForCausalLM m)
    {
        using var _ = no_grad();
        return m.forward(new CausalLMInput(tensor(new long[] { 1, 7, 3, 9, 2, 4 }).view(2, 3))).Logits;
    }

    [Theory]
    [InlineData(false, false, "llama")]
    [InlineData(true, true, "llama")]
    [InlineData(true, false, "qwen2")]
    public void Save_then_load_gives_identical_logits(bool tied, bool bias, string modelType)
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        using var original = new LlamaForCausalLM(TestConfigs.Tiny(tied, bias, modelType));
        ModelFolder.Save(original, dir.Path);

        using var loaded = ModelFolder.Load(dir.Path);
        Assert.True(Logits(loaded).eq(Logits(original)).all().item<bool>());
        Assert.Equal(modelType, loaded.Config.ModelType);
    }

    [Fact]
    public void Tied_model_saves_no_lm_head_and_untied_does()
    {
        using var dir = new TempDir();
        using (var tied = new LlamaForCausalLM(TestConfigs.Tiny(tied: true))) ModelFolder.Save(tied, dir.File("tied"));
        using (var untied = new LlamaForCausalLM(TestConfigs.Tiny(tied: false))) ModelFolder.Save(untied, dir.File("untied"));
        using var t = SafeTensorsFile.Open(Path.Combine(dir.File("tied"), "model.safetensors"));
        using var u = SafeTensorsFile.Open(Path.Combine(dir.File("untied"), "model.safetensors"));
        Assert.False(t.Contains("lm_head.weight"));
        Assert.True(u.Contains("lm_head.weight"));
        Assert.Equal("pt", t.Metadata["format"]);
    }

    [Fact]
    public void Saved_config_is_hugging_face_json_with_the_parameter_dtype()
    {
        using var dir = new TempDir();
        using var m = new LlamaForCausalLM(TestConfigs.Tiny(), dtype: ScalarType.BFloat16);
        ModelFolder.Save(m, dir.Path);
        using var doc = JsonDocument.Parse(File.ReadAllText(dir.File("config.json")));
        var root = doc.RootElement;
        Assert.Equal("bfloat16", root.GetProperty("torch_dtype").GetString());
        Assert.Equal(16, root.GetProperty("hidden_size").GetInt32());
        Assert.Equal(2, root.GetProperty("num_key_value_heads").GetInt32());
        Assert.Equal("LlamaForCausalLM", root.GetProperty("architectures")[0].GetString());
        Assert.True(File.Exists(dir.File("generation_config.json")));
        using var st = SafeTensorsFile.Open(dir.File("model.safetensors"));
        Assert.Equal("BF16", st.Tensors["model.norm.weight"].DType);
    }

    [Fact]
    public void Hugging_face_qwen2_config_reads_as_is_and_keeps_unknown_keys()
    {
        const string json = """
            {"architectures":["Qwen2ForCausalLM"],"attention_dropout":0.0,"bos_token_id":151643,"eos_token_id":[151645,151643],
             "hidden_act":"silu","hidden_size":896,"initializer_range":0.02,"intermediate_size":4864,"max_position_embeddings":32768,
             "max_window_layers":21,"model_type":"qwen2","num_attention_heads":14,"num_hidden_layers":24,"num_key_value_heads":2,
             "rms_norm_eps":1e-06,"rope_theta":1000000.0,"sliding_window":32768,"tie_word_embeddings":true,"torch_dtype":"bfloat16",
             "transformers_version":"4.43.1","use_cache":true,"use_sliding_window":false,"vocab_size":151936}
            """;
        var c = LlamaConfig.FromJson(json);
        Assert.Equal(64, c.HeadDim);
        Assert.Equal(2, c.KeyValueHeads);
        Assert.True(c.QkvBias);
        Assert.False(c.OutputProjBias);
        Assert.Equal(new long[] { 151645, 151643 }, c.EosTokenIds);
        Assert.Equal(1_000_000.0, c.RopeTheta);
        using var again = JsonDocument.Parse(c.ToJson());
        Assert.Equal(21, again.RootElement.GetProperty("max_window_layers").GetInt32());
        Assert.Equal(2, again.RootElement.GetProperty("eos_token_id").GetArrayLength());
    }

    [Fact]
    public void Unsupported_model_type_is_a_user_error()
    {
        var e = Assert.Throws<DistillException>(() => LlamaConfig.FromJson("""{"model_type":"gpt2","vocab_size":10}"""));
        Assert.Contains("gpt2", e.Message);
    }

    [Theory]
    [InlineData("""{"model_type":"llama","rope_scaling":{"rope_type":"llama3","factor":8.0}}""", "rope_scaling")]
    [InlineData("""{"model_type":"qwen2","use_sliding_window":true}""", "sliding-window")]
    public void Unsupported_attention_variants_are_refused_not_ignored(string json, string expected)
    {
        var e = Assert.Throws<DistillException>(() => LlamaConfig.FromJson(json));
        Assert.Contains(expected, e.Message);
        LlamaConfig.FromJson("""{"model_type":"qwen2","rope_scaling":null,"use_sliding_window":false}""");
    }

    [Fact]
    public void Sharded_checkpoint_with_index_loads()
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        using var original = new LlamaForCausalLM(TestConfigs.Tiny());
        ModelFolder.Save(original, dir.Path);
        File.Delete(dir.File("model.safetensors"));
        var all = original.named_parameters().Select(p => KeyValuePair.Create(p.name, (Tensor)p.parameter)).ToList();
        var first = all.Take(all.Count / 2).ToList();
        var second = all.Skip(all.Count / 2).ToList();
        SafeTensorsWriter.Save(dir.File("model-00001-of-00002.safetensors"), first);
        SafeTensorsWriter.Save(dir.File("model-00002-of-00002.safetensors"), second);
        var map = first.ToDictionary(p => p.Key, _ => "model-00001-of-00002.safetensors");
        foreach (var p in second) map[p.Key] = "model-00002-of-00002.safetensors";
        File.WriteAllText(dir.File("model.safetensors.index.json"), JsonSerializer.Serialize(new { metadata = new { total_size = 0 }, weight_map = map }));

        using var loaded = ModelFolder.Load(dir.Path);
        Assert.True(Logits(loaded).eq(Logits(original)).all().item<bool>());
    }

    [Fact]
    public void Wrong_shape_names_the_tensor_and_the_file()
    {
        using var dir = new TempDir();
        using (var m = new LlamaForCausalLM(TestConfigs.Tiny())) ModelFolder.Save(m, dir.Path);
        var bigger = TestConfigs.Tiny();
        bigger.IntermediateSize = 32;
        File.WriteAllText(dir.File("config.json"), bigger.ToJson());

        var e = Assert.Throws<DistillException>(() => ModelFolder.Load(dir.Path));
        Assert.Contains("model.layers.0.mlp.gate_proj.weight", e.Message);
        Assert.Contains("model.safetensors", e.Message);
        Assert.Contains("[24, 16]", e.Message);
    }

    [Fact]
    public void Missing_tensor_and_missing_files_are_user_errors()
    {
        using var dir = new TempDir();
        using (var m = new LlamaForCausalLM(TestConfigs.Tiny(tied: true))) ModelFolder.Save(m, dir.Path);
        File.WriteAllText(dir.File("config.json"), TestConfigs.Tiny(tied: false).ToJson());
        var missing = Assert.Throws<DistillException>(() => ModelFolder.Load(dir.Path));
        Assert.Contains("lm_head.weight", missing.Message);
        Assert.Contains(dir.Path, missing.Message);

        File.Delete(dir.File("model.safetensors"));
        Assert.Contains("no weights", Assert.Throws<DistillException>(() => ModelFolder.Load(dir.Path)).Message);
        File.Delete(dir.File("config.json"));
        Assert.Contains("config.json", Assert.Throws<DistillException>(() => ModelFolder.Load(dir.Path)).Message);
        Assert.Contains("not found", Assert.Throws<DistillException>(() => ModelFolder.Load(dir.File("nothing-here"))).Message);
    }

    [Fact]
    public void Extra_layers_in_the_checkpoint_are_rejected()
    {
        using var dir = new TempDir();
        using (var m = new LlamaForCausalLM(TestConfigs.Tiny(layers: 3))) ModelFolder.Save(m, dir.Path);
        File.WriteAllText(dir.File("config.json"), TestConfigs.Tiny(layers: 2).ToJson());
        var e = Assert.Throws<DistillException>(() => ModelFolder.Load(dir.Path));
        Assert.Contains("model.layers.2.", e.Message);
    }
}
