using System.Reflection;
using Distill.Cli.Composition;
using Distill.Cli.Configuration;
using Distill.Core.Samples;
using Distill.Data;

namespace Distill.Cli.Tests;

/// <summary>
/// A whole task domain from a separately compiled .dll (tests/Plugins/CapitalsDomain), loaded through Plugins:Assemblies in
/// its own load context: its task source, its tool, its template variable and its scripted teacher reach `distill generate`
/// exactly as the built-in world's do.
/// </summary>
public sealed class PluginDomainTests : IDisposable
{
    private static readonly string PluginPath = Path.GetFullPath(typeof(PluginDomainTests).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "CapitalsDomainPlugin").Value!);

    private static readonly string PluginPrompts = Path.Combine(RepoPaths.Root, "tests", "Plugins", "CapitalsDomain", "prompts");

    private readonly string _dir = Directory.CreateTempSubdirectory("distill-plugin-domain-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_plugin_brings_one_domain_with_its_splits_tool_and_scripted_teacher()
    {
        var domains = TaskDomains.Load(new PluginsOptions { Assemblies = [PluginPath] });

        Assert.Equal(["world", "capitals"], domains.All.Select(d => d.Name));
        var capitals = domains.For("capitals:train");
        Assert.Equal("capitals", capitals.Name);
        Assert.Equal(["capital_of"], capitals.Tools.Select(t => t.Name));
        Assert.Equal("capitals-scripted", capitals.ScriptedTeacherName);
        // The domain's own split: no held-out country is in training.
        var train = capitals.Tasks("train", 100).Select(t => t.Id).ToList();
        var heldOut = capitals.Tasks("heldout", 100).Select(t => t.Id).ToList();
        Assert.Equal((24, 8), (train.Count, heldOut.Count));
        Assert.Empty(train.Intersect(heldOut));
    }

    [Fact]
    public async Task Generate_runs_the_plugin_domains_tasks_tool_variable_and_teacher_end_to_end()
    {
        var data = Path.Combine(_dir, "capitals");
        var generate = await CliRun.RunAsync("--set", $"Paths:Prompts={PluginPrompts}", "--set", $"Paths:Cache={Path.Combine(_dir, "cache")}",
            "--set", $"Plugins:Assemblies:0={PluginPath}",
            "generate", "--recipe", "tool_trace", "--template", "capitals-agent", "--teacher", "capitals-scripted", "--tasks", "capitals:train",
            "--count", "4", "--out", data);

        Assert.True(generate.ExitCode == 0, generate.Output + generate.Error);
        var samples = new List<Sample>();
        await foreach (var s in DatasetReader.Open(data).ReadSamplesAsync()) samples.Add(s);
        Assert.Equal(["What is the capital of Argentina?", "What is the capital of Australia?", "What is the capital of Austria?", "What is the capital of Brazil?"],
            samples.Select(s => s.SeedInput).Order(StringComparer.Ordinal));
        Assert.All(samples, s => Assert.True(s.Verified, $"{s.Answer} failed its expected call or fact"));
        Assert.All(samples, s => Assert.Contains("You are the geography desk of the city library.", s.Messages[0].Content, StringComparison.Ordinal));
        Assert.All(samples, s => Assert.Contains("capital_of", s.Tools!, StringComparison.Ordinal));
        Assert.All(samples, s => Assert.DoesNotContain("lookup_order", s.Tools!, StringComparison.Ordinal));
        // Text only the plugin's own tool writes, and the scripted teacher's answer built from it.
        var austria = samples.Single(s => s.SeedInput == "What is the capital of Austria?");
        Assert.Equal("""{"country":"Austria","capital":"Vienna"}""", austria.Messages.Single(m => m.Role == ChatRoles.Tool).Content);
        Assert.Equal("The capital of Austria is Vienna.", austria.Answer);
        Assert.All(samples, s => Assert.Equal(("scripted", "capitals-geographer"), (s.Teacher!.Provider, s.Teacher.Model)));
    }

    [Fact]
    public async Task The_plugins_scripted_teacher_refuses_another_domains_tasks_with_one_line()
    {
        var result = await CliRun.RunAsync("--set", $"Paths:Prompts={RepoPaths.Prompts}", "--set", $"Paths:Cache={Path.Combine(_dir, "cache")}",
            "--set", $"Plugins:Assemblies:0={PluginPath}",
            "generate", "--recipe", "tool_trace", "--teacher", "capitals-scripted", "--tasks", "world:train", "--count", "1", "--out", Path.Combine(_dir, "out"));

        Assert.Equal(DistillApp.UserError, result.ExitCode);
        Assert.Contains("capitals-scripted", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
    }
}
