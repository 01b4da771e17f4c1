using Distill.Core.Samples;
using Distill.Data;
using Distill.Data.Synthetic;

namespace Distill.Cli.Tests;

public sealed class DatasetCommandTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("distill-dataset-cli-").FullName;
    private string Dataset => Path.Combine(_folder, "ds");

    public async Task InitializeAsync()
    {
        await using var writer = await DatasetWriter.OpenAsync(Dataset, new DatasetWriterOptions { ShardRows = 4 });
        foreach (var sample in SyntheticSamples.ToolTraces(10, seed: 3, logprobsTopK: 2))
        {
            await writer.AppendAsync(sample);
        }
        var rejected = SyntheticSamples.ToolTraces(11, seed: 3, logprobsTopK: 0).Last() with { Id = "rejected-1" };
        await writer.RejectAsync(new RejectedSample(rejected, "invalid_tool_arguments"));
    }

    [Fact]
    public async Task Validate_passes_a_good_dataset_and_fails_a_tampered_one_naming_the_file()
    {
        var ok = await CliRun.RunAsync("dataset", "validate", Dataset);
        Assert.Equal(0, ok.ExitCode);
        Assert.Contains("valid", ok.Output);

        var shard = Directory.GetFiles(Path.Combine(Dataset, "shards"), "*.parquet").Order().First();
        await using (var stream = File.OpenWrite(shard))
        {
            stream.Seek(100, SeekOrigin.Begin);
            stream.WriteByte(0x42);
            stream.WriteByte(0x42);
        }

        var bad = await CliRun.RunAsync("dataset", "validate", Dataset);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains(Path.GetFileName(shard), bad.Output);
    }

    [Fact]
    public async Task Stats_counts_accepted_rejected_and_reasons()
    {
        var result = await CliRun.RunAsync("dataset", "stats", Dataset);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("10 accepted, 1 rejected", result.Output);
        Assert.Contains("invalid_tool_arguments", result.Output);
        Assert.Contains("tool_trace", result.Output);
        // Every assistant turn of the synthetic traces, tool-call turns included, carries logprobs.
        var samples = SyntheticSamples.ToolTraces(10, seed: 3, logprobsTopK: 2).ToList();
        int turns = samples.Sum(x => x.Messages.Count(m => m.Role == ChatRoles.Assistant));
        int callTurns = samples.Sum(x => x.Messages.Count(m => m.ToolCalls.Count > 0));
        int tokens = samples.Sum(x => x.Messages.Sum(m => m.Logprobs.Count));
        Assert.Contains($"teacher logprobs: {turns} of {turns} assistant turns ({callTurns} of {callTurns} tool-call turns) in 10 samples, {tokens} tokens, top-2",
            result.Output.ReplaceLineEndings(" ").Replace("  ", " ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Inspect_shows_turns_tool_calls_and_rejects()
    {
        var accepted = await CliRun.RunAsync("dataset", "inspect", Dataset, "-n", "1");
        var rejects = await CliRun.RunAsync("dataset", "inspect", Dataset, "--rejects");

        Assert.Equal(0, accepted.ExitCode);
        Assert.Contains("lookup_order", accepted.Output);
        Assert.Contains("assistant", accepted.Output);
        // The panel wraps long lines at the console width: read the text without its borders and line breaks.
        var text = System.Text.RegularExpressions.Regex.Replace(accepted.Output.Replace("│", " ", StringComparison.Ordinal), @"\s+", " ");
        // Which sample comes first depends on its random id; every synthetic trace has logprobs on all its assistant turns.
        Assert.Matches(@"teacher logprobs: (\d+) of \1 assistant turns", text);
        Assert.Contains("rejected: invalid_tool_arguments", rejects.Output);
    }

    [Fact]
    public async Task Export_jsonl_writes_one_chat_object_per_accepted_sample()
    {
        var output = Path.Combine(_folder, "out.jsonl");

        var result = await CliRun.RunAsync("dataset", "export", Dataset, "--format", "jsonl", "--out", output);

        Assert.Equal(0, result.ExitCode);
        var lines = await File.ReadAllLinesAsync(output);
        Assert.Equal(10, lines.Length);
        Assert.All(lines, line => Assert.Equal("system", System.Text.Json.JsonDocument.Parse(line).RootElement.GetProperty("messages")[0].GetProperty("role").GetString()));

        var withLogprobs = Path.Combine(_folder, "lp.jsonl");
        Assert.Equal(0, (await CliRun.RunAsync("dataset", "export", Dataset, "--format", "jsonl", "--out", withLogprobs, "--logprobs")).ExitCode);
        using var first = System.Text.Json.JsonDocument.Parse((await File.ReadAllLinesAsync(withLogprobs))[0]);
        var call = first.RootElement.GetProperty("messages").EnumerateArray().First(m => m.TryGetProperty("tool_calls", out _));
        Assert.Equal(2, call.GetProperty("logprobs")[0].GetProperty("top").GetArrayLength());
    }

    [Fact]
    public async Task Upgrade_rewrites_a_nested_dataset_compact_and_a_second_run_has_nothing_to_do()
    {
        var nested = Path.Combine(_folder, "nested");
        await using (var writer = await DatasetWriter.OpenAsync(nested, new DatasetWriterOptions { Format = Distill.Data.Storage.ShardFormat.Nested }))
            foreach (var sample in SyntheticSamples.ToolTraces(3, seed: 4, logprobsTopK: 5))
                await writer.AppendAsync(sample);

        var first = await CliRun.RunAsync("dataset", "upgrade", nested);
        Assert.Equal(0, first.ExitCode);
        Assert.Contains("Upgraded 1 files", first.Output);
        Assert.Contains("Nothing to upgrade", (await CliRun.RunAsync("dataset", "upgrade", nested)).Output);
        Assert.Equal(0, (await CliRun.RunAsync("dataset", "validate", nested)).ExitCode);

        var unknown = await CliRun.RunAsync("dataset", "upgrade", nested, "--logprob-precision", "int8");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("--logprob-precision 'int8'", unknown.Error);
    }

    [Fact]
    public async Task Missing_manifest_is_one_clear_line_with_exit_1()
    {
        var empty = Directory.CreateDirectory(Path.Combine(_folder, "empty")).FullName;

        var result = await CliRun.RunAsync("dataset", "stats", empty);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("error: ", result.Error);
        Assert.Contains("manifest", result.Error);
        Assert.Single(result.Error.Trim().Split('\n'));
    }

    [Fact]
    public async Task Stack_trace_appears_only_with_verbose()
    {
        var empty = Directory.CreateDirectory(Path.Combine(_folder, "empty-verbose")).FullName;

        var quiet = await CliRun.RunAsync("dataset", "validate", Path.Combine(empty, "nope"));
        var verbose = await CliRun.RunAsync("dataset", "stats", empty, "--verbose");

        Assert.DoesNotContain("   at ", quiet.Error + quiet.Output);
        Assert.Equal(1, verbose.ExitCode);
        Assert.Contains("   at ", verbose.Error);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_folder, recursive: true);
        return Task.CompletedTask;
    }
}
