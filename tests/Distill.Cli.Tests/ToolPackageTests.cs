using System.Diagnostics;
using Xunit.Abstractions;

namespace Distill.Cli.Tests;

/// <summary>
/// Packs the CLI as a .NET tool, installs it from the local package folder into a temporary tool path (no registry: a tool
/// package carries all its dependencies) and runs it from its install folder, where TorchSharp must load, in a folder that is not
/// a clone (the prompt templates and the quickstart's teacher come from the package). Slow (packing
/// compresses libtorch): leave it out with `--filter Category!=ToolPackage`.
/// </summary>
[Trait("Category", "ToolPackage")]
[Collection(ToolPackageCollection.Name)]
public sealed class ToolPackageTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromMinutes(10);
    private readonly string _folder = Directory.CreateTempSubdirectory("distill-tool-").FullName;

    [Fact]
    public async Task Packed_tool_installs_from_a_local_folder_and_runs_version_doctor_quickstart_and_the_tour_outside_a_clone()
    {
        var packages = Directory.CreateDirectory(Path.Combine(_folder, "packages")).FullName;
        var tools = Path.Combine(_folder, "tools");
        var clock = Stopwatch.StartNew();

        // --no-build: building this test project built the CLI in the same configuration; packing publishes that output.
        await RunAsync(RepoPaths.Root, Dotnet, "pack", Path.Combine(RepoPaths.Root, "src", "Distill.Cli", "Distill.Cli.csproj"),
            "-c", TestConfiguration(), "--no-build", "-o", packages);
        var packed = clock.Elapsed;
        var package = Assert.Single(Directory.GetFiles(packages, "*.nupkg"));
        var version = Path.GetFileNameWithoutExtension(package)["Distill.Cli.".Length..];
        output.WriteLine($"packed {Path.GetFileName(package)}: {new FileInfo(package).Length / 1e6:F0} MB in {packed.TotalSeconds:F0} s");

        // The package folder is the only source, so the install cannot reach (or need) a registry.
        var config = Path.Combine(_folder, "nuget.config");
        await File.WriteAllTextAsync(config, """<?xml version="1.0" encoding="utf-8"?><configuration><packageSources><clear /></packageSources></configuration>""");
        await RunAsync(_folder, Dotnet, "tool", "install", "Distill.Cli", "--version", version, "--tool-path", tools,
            "--configfile", config, "--add-source", packages);
        output.WriteLine($"installed in {(clock.Elapsed - packed).TotalSeconds:F0} s");

        var distill = Path.Combine(tools, OperatingSystem.IsWindows() ? "distill.exe" : "distill");
        var printed = (await RunAsync(_folder, distill, "--version")).Trim();
        Assert.Equal(DistillVersion.Informational, printed);
        Assert.Matches(@"\+[0-9a-f]{40}$", printed);

        var settings = Path.Combine(_folder, "appsettings.json");
        await File.WriteAllTextAsync(settings, "{}");
        var doctor = await RunAsync(_folder, distill, "doctor", "--config", settings);
        output.WriteLine(doctor);
        Assert.Matches(@"TorchSharp\s+\S\s+ok", doctor);
        Assert.Matches(@"\d+ GFLOP/s", doctor);

        // The main job, outside any clone: the folder has no prompts/, so the templates come from the package.
        var quickstart = await RunAsync(_folder, distill, "quickstart", "--fast", "--config", settings, "--out", Path.Combine(_folder, "quickstart"));
        output.WriteLine(quickstart);
        Assert.False(Directory.Exists(Path.Combine(_folder, "prompts")));
        Assert.Contains("Quickstart done", quickstart, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_folder, "quickstart", "report.md")));

        // The README's tour, shortened: its train config ships with the tool; the served student answers an OpenAI-style request.
        await RunAsync(_folder, distill, "generate", "--config", settings, "--recipe", "tool_trace", "--template", "world-agent",
            "--teacher", "world-scripted", "--tasks", "world:train", "--count", "20", "--out", "datasets/world");
        Assert.Contains("world-agent", await RunAsync(_folder, distill, "dataset", "inspect", "datasets/world", "-n", "1"), StringComparison.Ordinal);
        await RunAsync(_folder, distill, "train", "configs/train/world-sft.json", "--set", "steps=2", "--set", "eval:every=2", "--set", "checkpoint_every=2");
        Assert.True(File.Exists(Path.Combine(_folder, "runs", "world-sft", "model.safetensors")));
        await RunAsync(_folder, distill, "evaluate", "--config", settings, "--model", "student=runs/world-sft", "--tasks", "world:heldout",
            "--count", "2", "--max-steps", "2", "--out", "runs/eval");
        Assert.True(File.Exists(Path.Combine(_folder, "runs", "eval", "report.md")));
        var answer = await ServeAndAskAsync(distill, settings, "runs/world-sft", "world-sft");
        Assert.Contains("\"choices\"", answer, StringComparison.Ordinal);
    }

    /// <summary>The SDK's root folder, from the runtime this test runs on (…/shared/Microsoft.NETCore.App/&lt;version&gt;/).</summary>
    private static string DotnetRoot { get; } =
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(typeof(object).Assembly.Location)!, "..", "..", ".."));

    private static string Dotnet { get; } = Path.Combine(DotnetRoot, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet");

    /// <summary>Debug or Release: the folder above this test's net10.0 output folder.</summary>
    private static string TestConfiguration() =>
        Path.GetFileName(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory))!);

    /// <summary>A program started as a user's shell would start the installed command: both streams redirected.</summary>
    private ProcessStartInfo StartInfo(string workingDirectory, string fileName, params string[] arguments)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        // The installed command finds the runtime through DOTNET_ROOT, as in a user's shell.
        info.Environment["DOTNET_ROOT"] = DotnetRoot;
        if (arguments is ["tool", ..])
        {
            // Extract into the temp folder, not the user's NuGet cache, where a package of the same version would be reused.
            info.Environment["NUGET_PACKAGES"] = Path.Combine(_folder, "nuget-packages");
        }
        return info;
    }

    /// <summary>
    /// `distill serve` from the installed tool: waits (at most two minutes) until it lists its model, then asks it one chat
    /// completion the way an OpenAI client does, and stops it.
    /// </summary>
    private async Task<string> ServeAndAskAsync(string distill, string settings, string model, string name)
    {
        var port = LoopbackPort.Free();
        using var serve = Process.Start(StartInfo(_folder, distill, "serve", "--config", settings, "--model", model, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)))!;
        var log = new System.Text.StringBuilder();
        serve.OutputDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        serve.ErrorDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        serve.BeginOutputReadLine();
        serve.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(60) };
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
            var listed = false;
            while (!listed && DateTime.UtcNow < deadline && !serve.HasExited)
            {
                try
                {
                    listed = (await http.GetAsync("v1/models")).IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }
                if (!listed) await Task.Delay(500);
            }
            Assert.True(listed, $"distill serve did not list its model within two minutes:\n{log}");
            var body = $$"""{"model":"{{name}}","messages":[{"role":"user","content":"Is order A12345 on its way?"}],"max_tokens":8}""";
            using var reply = await http.PostAsync("v1/chat/completions", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
            var text = await reply.Content.ReadAsStringAsync();
            Assert.True(reply.IsSuccessStatusCode, $"{(int)reply.StatusCode}: {text}\n{log}");
            return text;
        }
        finally
        {
            if (!serve.HasExited) serve.Kill(entireProcessTree: true);
            await serve.WaitForExitAsync();
        }
    }

    /// <summary>Runs a program to completion and returns its standard output; a non-zero exit fails the test with both streams.</summary>
    private async Task<string> RunAsync(string workingDirectory, string fileName, params string[] arguments)
    {
        using var process = Process.Start(StartInfo(workingDirectory, fileName, arguments))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(StepTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"`{Path.GetFileName(fileName)} {string.Join(' ', arguments)}` ran longer than {StepTimeout}");
        }
        var (text, errors) = (await stdout, await stderr);
        Assert.True(process.ExitCode == 0,
            $"`{Path.GetFileName(fileName)} {string.Join(' ', arguments)}` exited {process.ExitCode}:\n{text}\n{errors}");
        return text;
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}

/// <summary>
/// Packing compresses ~1.4 GB: beside this assembly's training tests on 2 cores it took over 10 minutes instead of one, so it
/// runs alone, after the parallel tests.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ToolPackageCollection
{
    public const string Name = "tool package";
}
