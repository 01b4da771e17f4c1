using System.Net;
using System.Text;
using System.Text.Json;
using Distill.Cli.Composition;
using Distill.Models.Chat;
using Distill.Models.Checkpoints;
using Distill.Models.Lora;
using Distill.Models.Native;
using Distill.Models.Tokenization;
using Spectre.Console;
using TorchSharp;

namespace Distill.Cli.Tests;

/// <summary>`distill serve --adapter RUN`: the base model with a PEFT LoRA adapter folded in at start-up.</summary>
public sealed class ServeAdapterTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("distill-serve-adapter-").FullName;
    private string Base => Path.Combine(_folder, "base");
    private string Adapter => Path.Combine(_folder, "adapter");

    public async Task InitializeAsync()
    {
        var tokenizer = Path.Combine(_folder, "tokenizer.json");
        TokenizerJsonWriter.WriteFile(BpeTrainer.Train(Enumerable.Range(0, 20).Select(i => $"Order {i} shipped. Where is it?"), 300, ChatTokens.All), tokenizer);
        var init = await CliRun.RunAsync("model", "init", "--config", "tiny-test", "--out", Base, "--tokenizer", tokenizer);
        Assert.True(init.ExitCode == 0, init.Error);
        WriteAdapter(Base, Adapter);
    }

    /// <summary>A LoRA run folder for the model in <paramref name="baseDir"/>, with B non-zero so merging changes the weights.</summary>
    private static void WriteAdapter(string baseDir, string adapterDir)
    {
        TorchNative.EnsureLoaded();
        torch.manual_seed(7);
        using var model = ModelFolder.Load(baseDir);
        LoRA.Inject(model, ["q_proj", "v_proj"], rank: 4, alpha: 8);
        using (torch.no_grad())
        {
            foreach (var (_, lora) in LoRA.Adapters(model))
            {
                lora.LoraB.weight!.normal_(0, 0.5);
            }
        }
        PeftAdapter.Save(model, adapterDir, AdapterConfig.For(["q_proj", "v_proj"], 4, 8, 0, baseDir));
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_folder, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Serve_loads_the_same_weights_lora_merge_writes()
    {
        var merged = Path.Combine(_folder, "merged");
        var merge = await CliRun.RunAsync("lora", "merge", "--model", Base, "--adapter", Adapter, "--out", merged);
        Assert.True(merge.ExitCode == 0, merge.Error);

        using var served = ChatModelFolder.Load(Base, torch.CPU, Adapter);
        using var written = ModelFolder.Load(merged);
        using var plain = ModelFolder.Load(Base);

        var servedWeights = served.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, parameter) in written.named_parameters())
        {
            Assert.True(parameter.allclose(servedWeights[name]), name);
        }
        var q = "model.layers.0.self_attn.q_proj.weight";
        Assert.False(plain.named_parameters().Single(p => p.name == q).parameter.allclose(servedWeights[q]));
    }

    [Fact]
    public async Task Serving_or_merging_an_adapter_uses_the_chat_options_its_run_was_trained_with()
    {
        var compact = new ChatTemplateOptions { ToolFormat = ChatToolFormat.Compact, DefaultSystemPrompt = null };
        ChatTemplateOptionsFile.Save(Adapter, compact);
        var merged = Path.Combine(_folder, "merged");

        var merge = await CliRun.RunAsync("lora", "merge", "--model", Base, "--adapter", Adapter, "--out", merged);
        using var served = ChatModelFolder.Load(Base, torch.CPU, Adapter);
        using var plain = ChatModelFolder.Load(Base, torch.CPU);

        Assert.True(merge.ExitCode == 0, merge.Error);
        Assert.Equal(compact, ChatTemplateOptionsFile.Load(merged));
        Assert.Equal(compact, served.ChatOptions);
        Assert.Equal(new ChatTemplateOptions(), plain.ChatOptions);
        var info = await CliRun.RunAsync("model", "info", merged);
        Assert.Contains("tool_format compact", info.Output);
    }

    [Fact]
    public async Task Serve_with_an_adapter_answers_chat_completions()
    {
        var port = LoopbackPort.Free();
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var output = new StringWriter();
        var error = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Ansi = AnsiSupport.No, Out = new AnsiConsoleOutput(output), Interactive = InteractionSupport.No });
        var serve = Task.Run(() => DistillApp.RunAsync(
            ["serve", "--model", Base, "--adapter", Adapter, "--name", "tuned", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            console, error, stop.Token));

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        HttpResponseMessage? response = null;
        while (response is null)
        {
            Assert.False(serve.IsCompleted, $"serve exited: {error}");
            try
            {
                response = await http.PostAsync("/v1/chat/completions", new StringContent(
                    """{"model": "tuned", "max_tokens": 4, "temperature": 0, "messages": [{"role": "user", "content": "Where is order 3?"}]}""",
                    Encoding.UTF8, "application/json"));
            }
            catch (HttpRequestException)
            {
                await Task.Delay(200);
            }
        }
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        await stop.CancelAsync();
        var exitCode = await serve;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("tuned", body.GetProperty("model").GetString());
        Assert.InRange(body.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), 1, 4);
        Assert.Contains("with adapter", output.ToString());
        Assert.Equal(DistillApp.Success, exitCode);
    }

    [Fact]
    public async Task A_missing_adapter_folder_is_a_one_line_error()
    {
        var result = await CliRun.RunAsync("serve", "--model", Base, "--adapter", Path.Combine(_folder, "nope"), "--port", "0");

        Assert.Equal(DistillApp.UserError, result.ExitCode);
        Assert.Contains("adapter folder not found", result.Error);
        Assert.Single(result.Error.Trim().Split('\n'));
    }

    [Fact]
    public async Task An_adapter_for_another_base_shape_is_a_one_line_error()
    {
        var otherBase = Path.Combine(_folder, "other-base");
        var otherAdapter = Path.Combine(_folder, "other-adapter");
        var init = await CliRun.RunAsync("model", "init", "--config", "world-student", "--out", otherBase, "--tokenizer", Path.Combine(_folder, "tokenizer.json"));
        Assert.True(init.ExitCode == 0, init.Error);
        WriteAdapter(otherBase, otherAdapter);

        var result = await CliRun.RunAsync("serve", "--model", Base, "--adapter", otherAdapter, "--port", "0");

        Assert.Equal(DistillApp.UserError, result.ExitCode);
        Assert.Contains("has shape", result.Error);
        Assert.Single(result.Error.Trim().Split('\n'));
    }
}
