using System.Net;
using System.Text.Json;
using Distill.Models.Tokenization;

namespace Distill.Cli.Tests.Examples;

/// <summary>
/// examples/hf-student-checkpoint as its README walks it: a Qwen2 checkpoint folder in the Hub's layout (written here, tiny and
/// random) is the student of an online-KD run with the example's own train.json, and both the folder and the trained run are
/// served and answer a chat completion. Only the paths, the device, the steps, the sequence length and the gradient accumulation are changed with `--set`.
/// </summary>
public sealed class HuggingFaceStudentExampleTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("distill-example-hf-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // The README's curl body; the model name a server answers to is its folder's name.
    private static string Chat(string model) =>
        $$"""{"model": "{{model}}", "max_tokens": 6, "temperature": 0, "messages": [{"role": "user", "content": "Where is order ORD-1003?"}]}""";

    [Fact]
    public async Task A_hub_layout_qwen2_folder_is_the_student_of_an_online_kd_run_and_is_served_before_and_after()
    {
        var tokenizer = HuggingFaceCheckpoint.Qwen2StyleTokenizer();
        var student = Path.Combine(_dir, "checkpoints", "qwen2.5-0.5b-instruct");
        var teacher = Path.Combine(_dir, "checkpoints", "qwen2.5-1.5b-instruct");
        HuggingFaceCheckpoint.WriteQwen2(student, tokenizer, new Qwen2Shape(Hidden: 32, Intermediate: 64, Layers: 2, Heads: 4, KeyValueHeads: 2, TiedEmbeddings: true), seed: 1);
        HuggingFaceCheckpoint.WriteQwen2(teacher, tokenizer, new Qwen2Shape(Hidden: 48, Intermediate: 96, Layers: 3, Heads: 4, KeyValueHeads: 2, TiedEmbeddings: false), seed: 2);
        var data = Path.Combine(_dir, "datasets", "world");
        var generate = await CliRun.RunAsync("--set", $"Paths:Prompts={RepoPaths.Prompts}", "--set", $"Paths:Cache={Path.Combine(_dir, "cache")}",
            "generate", "--recipe", "tool_trace", "--template", "world-agent", "--teacher", "world-scripted", "--tasks", "world:train", "--count", "8", "--out", data);
        Assert.True(generate.ExitCode == 0, generate.Error);
        var example = ExampleFolder.CopyTo("hf-student-checkpoint", Path.Combine(_dir, "example"));
        var run = Path.Combine(_dir, "runs", "hf-student");

        // The Hub folder is served as it is.
        var info = await CliRun.RunAsync("model", "info", student);
        Assert.True(info.ExitCode == 0, info.Error);
        Assert.Contains("qwen2", info.Output, StringComparison.Ordinal);
        var before = await ServeOnce.PostAsync(["serve", "--model", student], "/v1/chat/completions", Chat("qwen2.5-0.5b-instruct"));
        AssertAnswered(before, "qwen2.5-0.5b-instruct");

        var train = await CliRun.RunAsync("train", Path.Combine(example, "train.json"),
            "--set", $"student:model={student}", "--set", $"teacher={teacher}", "--set", $"datasets=[\"{data}\"]", "--set", $"out={run}",
            "--set", "steps=2", "--set", "device=cpu", "--set", "data:max_length=256", "--set", "batch:grad_accum=1");
        Assert.True(train.ExitCode == 0, train.Output + train.Error);
        Assert.Contains($"done: completed; run folder {run}", train.Output, StringComparison.Ordinal);
        // The run folder is a model folder of the same architecture and tokenizer: what `distill serve` and transformers open.
        using (var config = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(run, "config.json"))))
        {
            Assert.Equal("qwen2", config.RootElement.GetProperty("model_type").GetString());
            Assert.Equal(32, config.RootElement.GetProperty("hidden_size").GetInt32());
        }
        Assert.Equal(TokenizerJsonWriter.ToJson(tokenizer), await File.ReadAllTextAsync(Path.Combine(run, "tokenizer.json")));

        var after = await ServeOnce.PostAsync(["serve", "--model", run], "/v1/chat/completions", Chat("hf-student"));
        AssertAnswered(after, "hf-student");
    }

    [Fact]
    public async Task A_checkpoint_whose_tokenizer_has_no_chatml_tokens_is_refused_with_one_line()
    {
        // Llama 3's special tokens instead of ChatML's: Distill renders ChatML, so such a folder cannot be its student.
        var tokenizer = BpeTrainer.Train(Enumerable.Range(0, 20).Select(i => $"Order {i} shipped."), 300,
            ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>"]);
        var folder = Path.Combine(_dir, "llama3-style");
        HuggingFaceCheckpoint.WriteQwen2(folder, tokenizer, new Qwen2Shape(32, 64, 1, 4, 2, true), seed: 3);
        var data = Path.Combine(_dir, "datasets", "world");
        var generate = await CliRun.RunAsync("--set", $"Paths:Prompts={RepoPaths.Prompts}", "--set", $"Paths:Cache={Path.Combine(_dir, "cache")}",
            "generate", "--recipe", "tool_trace", "--template", "world-agent", "--teacher", "world-scripted", "--tasks", "world:train", "--count", "2", "--out", data);
        Assert.True(generate.ExitCode == 0, generate.Error);
        var example = ExampleFolder.CopyTo("hf-student-checkpoint", Path.Combine(_dir, "example"));

        var train = await CliRun.RunAsync("train", Path.Combine(example, "train.json"), "--set", $"student:model={folder}", "--set", $"teacher={folder}",
            "--set", $"datasets=[\"{data}\"]", "--set", $"out={Path.Combine(_dir, "run")}", "--set", "steps=2", "--set", "device=cpu");

        Assert.Equal(1, train.ExitCode);
        Assert.Contains("has no special token <|im_start|>", train.Error, StringComparison.Ordinal);
        Assert.Single(train.Error.Trim().Split('\n'));
    }

    private static void AssertAnswered(ServedReply reply, string model)
    {
        Assert.True(reply.Status == HttpStatusCode.OK, $"{reply.Status}: {reply.Body} {reply.Error}");
        using var body = JsonDocument.Parse(reply.Body);
        Assert.Equal(model, body.RootElement.GetProperty("model").GetString());
        Assert.Equal("assistant", body.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("role").GetString());
        Assert.InRange(body.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), 1, 6);
        Assert.Equal(DistillApp.Success, reply.ExitCode);
    }
}
