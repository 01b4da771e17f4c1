using System.Diagnostics;
using System.Text.Json;

namespace Distill.Server.Tests;

/// <summary>Runs only where node and npm are installed (the project's machines have them); skipped elsewhere.</summary>
public sealed class NodeFactAttribute : FactAttribute
{
    public NodeFactAttribute()
    {
        if (NpmClient.Which("node") is null || NpmClient.Which("npm") is null)
        {
            Skip = "node and npm are not installed";
        }
    }
}

public static class NpmClient
{
    public const string OpenAiVersion = "7.57.0";

    public static string? Which(string program) => (Environment.GetEnvironmentVariable("PATH") ?? "")
        .Split(Path.PathSeparator).Select(folder => Path.Combine(folder, program)).FirstOrDefault(File.Exists);

    /// <summary>Installs the pinned `openai` package once per machine into a cache folder, and returns that folder.</summary>
    public static async Task<string> EnsureInstalledAsync()
    {
        var folder = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "distill", $"npm-openai-{OpenAiVersion}");
        if (File.Exists(Path.Combine(folder, "node_modules", "openai", "package.json")))
        {
            return folder;
        }
        Directory.CreateDirectory(folder);
        await File.WriteAllTextAsync(Path.Combine(folder, "package.json"), """{ "private": true, "type": "module" }""");
        var (code, output) = await RunAsync("npm", folder, "install", "--no-audit", "--no-fund", $"openai@{OpenAiVersion}");
        Assert.True(code == 0, $"npm install failed: {output}");
        return folder;
    }

    public static async Task<(int Code, string Output)> RunAsync(string program, string folder, params string[] args)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}

public sealed class NpmClientTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [NodeFact]
    public async Task Official_openai_npm_client_gets_tool_calls_logprobs_and_a_stream()
    {
        var folder = await NpmClient.EnsureInstalledAsync();
        var script = Path.Combine(folder, "client.mjs");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "npm", "client.mjs"), script, overwrite: true);

        var (code, output) = await NpmClient.RunAsync("node", folder, script, new Uri(server.BaseAddress, "/v1").ToString(), ServerFixture.ApiKey);

        Assert.True(code == 0, output);
        var seen = JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal("tool_calls", seen.GetProperty("finish").GetString());
        Assert.Equal("lookup_order", seen.GetProperty("tool").GetString());
        Assert.Equal("order 42", seen.GetProperty("args").GetProperty("query").GetString());
        Assert.Equal("echo: shipped", seen.GetProperty("answer").GetString());
        Assert.Equal(2, seen.GetProperty("topLogprobs").GetInt32());
        Assert.Equal("echo: hi there", seen.GetProperty("streamed").GetString());
    }
}
