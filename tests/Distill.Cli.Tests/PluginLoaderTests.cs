using Distill.Cli.Composition;
using Distill.Cli.Configuration;
using Distill.Core.Errors;
using Distill.Generation.Domains;
using Distill.Generation.Recipes;
using Distill.Teachers;
using Microsoft.SemanticKernel;

namespace Distill.Cli.Tests;

/// <summary>Plugin assemblies (Plugins:Assemblies): what is found in them, and a one-line error for each way they go wrong.</summary>
public sealed class PluginLoaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("distill-plugins-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_example_plugin_brings_its_tool_class_with_both_functions()
    {
        var contents = PluginAssemblies.Load(LibraryToolsPlugin.Path);

        Assert.Empty(contents.Domains);
        var desk = Assert.Single(contents.ToolClasses);
        Assert.Equal("LibraryDesk", desk.Name);
        Assert.Equal(["find_book", "opening_hours"], desk.Tools.Select(t => t.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Plugin_tools_run_the_plugins_own_code_through_the_shared_semantic_kernel_types()
    {
        var tools = PluginAssemblies.Load(LibraryToolsPlugin.Path).ToolClasses.Single().Tools;
        var findBook = tools.Single(t => t.Name == "find_book");

        var result = await findBook.InvokeAsync(new Kernel(), new KernelArguments { ["title"] = "the hobbit" });

        Assert.Equal("The Hobbit by J. R. R. Tolkien: available, 2 copies on shelf 823 TOL.", result.GetValue<string>());
    }

    [Fact]
    public void Loading_plugins_keeps_the_built_in_world_first_and_unchanged()
    {
        var domains = TaskDomains.Load(new PluginsOptions { Assemblies = [LibraryToolsPlugin.Path], TaskFileTools = "LibraryDesk" });

        var world = Assert.Single(domains.All);
        Assert.Same(TaskDomains.BuiltIn.All[0], world);
        Assert.Same(world, domains.For("world:train"));
        Assert.Contains(world.Tools, t => t.Name == "lookup_order");
        Assert.Equal("LibraryDesk", domains.For("tasks.jsonl").Name);
        Assert.Same(world, TaskDomains.Load(new PluginsOptions()).For("tasks.jsonl"));
    }

    [Fact]
    public void A_plugin_domain_becomes_a_task_source_and_can_give_task_files_its_tools()
    {
        var plugin = PluginAssemblies.Discover([typeof(TinyDomain), typeof(NotAPlugin)], "tiny.dll");

        var domains = TaskDomains.Compose([plugin], "tiny");

        Assert.Equal(["world", "tiny"], domains.All.Select(d => d.Name));
        Assert.Equal("tiny", domains.For("tiny:train").Name);
        Assert.Equal("tiny", domains.For("my-tasks.jsonl").Name);
    }

    [Fact]
    public void A_missing_plugin_file_is_one_line_that_says_to_build_it()
    {
        var e = Assert.Throws<DistillException>(() => PluginAssemblies.Load(Path.Combine(_dir, "MyTools.dll")));

        Assert.Contains("MyTools.dll' (Plugins:Assemblies) does not exist", e.Message);
        Assert.Contains("dotnet build", e.Hint);
    }

    [Fact]
    public void A_file_that_is_not_a_dotnet_assembly_is_refused()
    {
        var path = Path.Combine(_dir, "native.dll");
        File.WriteAllBytes(path, [0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

        var e = Assert.Throws<DistillException>(() => PluginAssemblies.Load(path));

        Assert.Contains("native.dll' (Plugins:Assemblies) is not a .NET assembly", e.Message);
    }

    [Fact]
    public void An_assembly_without_domains_or_tool_classes_is_refused()
    {
        // A real .NET assembly, loaded the plugin's way, that has neither: as if the settings named a dependency's .dll.
        var path = typeof(DistillException).Assembly.Location;

        var e = Assert.Throws<DistillException>(() => PluginAssemblies.Load(path));

        Assert.Contains("holds no ITaskDomain class and no class with [KernelFunction] methods", e.Message);
    }

    [Fact]
    public void A_tool_class_whose_constructor_needs_arguments_is_refused_by_name()
    {
        var e = Assert.Throws<DistillException>(() => PluginAssemblies.Discover([typeof(ToolsNeedingAKey)], "keyed.dll"));

        Assert.Contains($"tool class '{typeof(ToolsNeedingAKey).FullName}' in keyed.dll has no public parameterless constructor", e.Message);
        Assert.Contains("new ToolsNeedingAKey()", e.Hint);
    }

    [Fact]
    public void Two_domains_of_one_name_are_refused_and_so_is_a_second_world()
    {
        var tiny = PluginAssemblies.Discover([typeof(TinyDomain)], "a.dll");
        var again = PluginAssemblies.Discover([typeof(TinyDomain)], "b.dll");
        var world = PluginAssemblies.Discover([typeof(AnotherWorld)], "c.dll");

        var twice = Assert.Throws<DistillException>(() => TaskDomains.Compose([tiny, again], null));
        var clash = Assert.Throws<DistillException>(() => TaskDomains.Compose([world], null));

        Assert.Contains("two domains or tool classes are named 'tiny'", twice.Message);
        Assert.Contains("in a.dll and domain", twice.Message);
        Assert.Contains("named 'world': the built-in world and domain", clash.Message);
    }

    [Fact]
    public void Task_file_tools_that_name_nothing_list_what_there_is()
    {
        var plugin = PluginAssemblies.Discover([typeof(TinyDomain)], "a.dll");

        var e = Assert.Throws<DistillException>(() => TaskDomains.Compose([plugin], "LibraryDsk"));

        Assert.Contains("Plugins:TaskFileTools names 'LibraryDsk'", e.Message);
        Assert.Contains("tiny, world", e.Hint);
    }

    [Fact]
    public async Task A_bad_plugin_stops_generate_with_one_line_before_any_work()
    {
        var result = await CliRun.RunAsync("--set", $"Paths:Prompts={RepoPaths.Prompts}", "--set", $"Paths:Cache={Path.Combine(_dir, "cache")}",
            "--set", $"Plugins:Assemblies:0={Path.Combine(_dir, "Missing.dll")}",
            "generate", "--recipe", "tool_trace", "--teacher", "world-scripted", "--tasks", "world:train", "--count", "1", "--out", Path.Combine(_dir, "out"));

        Assert.Equal(DistillApp.UserError, result.ExitCode);
        Assert.Contains("Missing.dll' (Plugins:Assemblies) does not exist", result.Error);
        Assert.DoesNotContain("   at ", result.Error);
        Assert.False(Directory.Exists(Path.Combine(_dir, "out")));
    }

    [Fact]
    public async Task A_misspelled_plugins_key_is_refused_by_the_strict_binder()
    {
        var result = await CliRun.RunAsync("--set", "Plugins:Assembly:0=x.dll", "generate", "--recipe", "tool_trace", "--tasks", "world:train", "--out", Path.Combine(_dir, "out"));

        Assert.Equal(DistillApp.UserError, result.ExitCode);
        Assert.Contains("setting 'Plugins:Assembly' in --set: unknown setting", result.Error);
        Assert.DoesNotContain("   at ", result.Error);
    }

    /// <summary>A domain of one train task (a test double of a user's domain).</summary>
    public sealed class TinyDomain : ITaskDomain
    {
        public string Name => "tiny";
        public IReadOnlyList<string> Splits => ["train"];
        public IReadOnlyList<SeedTask> Tasks(string split, int count, string? filter = null) => [new SeedTask("t1", "What is 2+2?", "4")];
        public IReadOnlyDictionary<string, object?> TemplateVariables { get; } = new Dictionary<string, object?>();
        public IReadOnlyList<KernelFunction> Tools => [];
        public string? ScriptedTeacherName => null;
        public ITeacher CreateScriptedTeacher(IReadOnlyList<SeedTask> tasks) => throw new InvalidOperationException("no scripted teacher");
    }

    /// <summary>A user's domain that takes the embedded world's name.</summary>
    public sealed class AnotherWorld : ITaskDomain
    {
        public string Name => "world";
        public IReadOnlyList<string> Splits => ["train"];
        public IReadOnlyList<SeedTask> Tasks(string split, int count, string? filter = null) => [];
        public IReadOnlyDictionary<string, object?> TemplateVariables { get; } = new Dictionary<string, object?>();
        public IReadOnlyList<KernelFunction> Tools => [];
        public string? ScriptedTeacherName => null;
        public ITeacher CreateScriptedTeacher(IReadOnlyList<SeedTask> tasks) => throw new InvalidOperationException("no scripted teacher");
    }

    /// <summary>Tools that need a key at construction: Distill cannot create them.</summary>
    public sealed class ToolsNeedingAKey(string apiKey)
    {
        [KernelFunction("weather")]
        public string Weather(string city) => $"{city}: sunny ({apiKey.Length})";
    }

    /// <summary>A public class that is neither a domain nor a tool class: ignored.</summary>
    public sealed class NotAPlugin
    {
        public string Hello() => "hello";
    }
}
