using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Distill.Cli.Tests;

/// <summary>`distill train &lt;config&gt;` as a user runs it: the train config is the command's own argument, `--set` overrides its keys.</summary>
public sealed class TrainCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("distill-train-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A tiny-test student on a few scripted demonstrations; 2 steps are a few seconds on a CPU.</summary>
    private async Task<(string Config, string Run)> TinyPresetAsync()
    {
        var data = Path.Combine(_dir, "demos");
        var generate = await CliRun.RunAsync("--set", $"Paths:Prompts={RepoPaths.Prompts}", "--set", $"Paths:Cache={Path.Combine(_dir, "cache")}",
            "generate", "--recipe", "tool_trace", "--template", "world-agent", "--teacher", "world-scripted", "--tasks", "world:train", "--count", "8", "--out", data);
        Assert.True(generate.ExitCode == 0, generate.Error);
        var run = Path.Combine(_dir, "run");
        var config = new JsonObject
        {
            ["name"] = "tiny",
            ["student"] = new JsonObject { ["preset"] = "tiny-test", ["tokenizer"] = "world" },
            ["chat"] = new JsonObject { ["tool_format"] = "compact" },
            ["datasets"] = new JsonArray(data),
            ["data"] = new JsonObject { ["max_length"] = 128, ["batching"] = "bucket", ["validation_fraction"] = 0.0, ["truncation"] = "left" },
            ["batch"] = new JsonObject { ["size"] = 2 },
            ["steps"] = 50,
            ["eval"] = new JsonObject { ["every"] = 0 },
            ["log_every"] = 1,
            ["device"] = "cpu",
            ["out"] = run,
        };
        var path = Path.Combine(_dir, "tiny.json");
        await File.WriteAllTextAsync(path, config.ToJsonString());
        return (path, run);
    }

    [Fact]
    public async Task Train_takes_the_config_as_its_argument_and_set_overrides_in_both_syntaxes()
    {
        var (config, run) = await TinyPresetAsync();

        var result = await CliRun.RunAsync("train", config, "--set", "steps=2", "--set", "optimizer:lr=0.01", "--set", "optimizer.warmup_steps=1");

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Empty(result.Error);
        // The console lines are the trainer's own, one per log_every step, as plain text.
        Assert.Matches(new Regex(@"^step 2/2 \| loss \d+\.\d{4} \(ce \d+\.\d{4}\) \| lr \d\.\d{2}E[-+]\d{3} \| [\d,]+ tok/s \| mfu \d+\.\d{2}% \| eta \d\d:\d\d:\d\d\r?$", RegexOptions.Multiline), result.Output);
        Assert.Contains("chat: tool_format compact", result.Output, StringComparison.Ordinal);
        Assert.Contains($"done: completed; run folder {run}", result.Output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(run, "model.safetensors")));
        var resolved = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(run, "train_config.json")))!;
        Assert.Equal(2, (int)resolved["steps"]!);
        Assert.Equal(0.01, (double)resolved["optimizer"]!["lr"]!);
        Assert.Equal(1, (int)resolved["optimizer"]!["warmup_steps"]!);
        Assert.Equal("bucket", (string)resolved["data"]!["batching"]!);

        // The old form still works for one release: it warns on stderr and runs the same config (finished: nothing more to train).
        var old = await CliRun.RunAsync("train", "--config", config, "--set", "steps=2");
        Assert.True(old.ExitCode == 0, old.Error);
        Assert.Contains($"`distill train --config {config}` is deprecated", old.Error, StringComparison.Ordinal);
        Assert.Contains($"write `distill train {config}`", old.Error, StringComparison.Ordinal);
        Assert.Contains("run already finished at step 2", old.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_misspelled_set_key_fails_with_one_line_naming_the_key_and_a_suggestion()
    {
        var config = Path.Combine(_dir, "c.json");
        await File.WriteAllTextAsync(config, """{ "steps": 3 }""");

        var result = await CliRun.RunAsync("train", config, "--set", "optimizer:lrr=1e-3");

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("setting 'optimizer:lrr' in --set: unknown setting (did you mean 'lr'?)", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Train_without_a_config_says_how_to_pass_one()
    {
        var result = await CliRun.RunAsync("train");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("distill train needs a train config", result.Error, StringComparison.Ordinal);
        Assert.Contains("distill train configs/train/world-sft.json", result.Error, StringComparison.Ordinal);
    }
}
