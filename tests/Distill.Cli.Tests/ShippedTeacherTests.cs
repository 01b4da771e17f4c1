using System.Text.Json.Nodes;
using Distill.Cli.Commands;
using Distill.Training.Config;

namespace Distill.Cli.Tests;

/// <summary>The teacher shipped with Distill: used only for the recipe key it was trained with, and copied whole or not at all.</summary>
public sealed class ShippedTeacherTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("distill-shipped-teacher-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Shipped(string? key)
    {
        var folder = Path.Combine(_dir, "shipped");
        Directory.CreateDirectory(Path.Combine(folder, "charts"));
        File.WriteAllText(Path.Combine(folder, "model.safetensors"), "weights");
        File.WriteAllText(Path.Combine(folder, "charts", "loss.png"), "png");
        if (key is not null) File.WriteAllText(Path.Combine(folder, ShippedTeacher.ProvenanceFile), new JsonObject { ["key"] = key, ["seed"] = 42 }.ToJsonString());
        return folder;
    }

    [Fact]
    public void A_shipped_teacher_with_the_recipe_key_is_copied_whole_into_the_cache()
    {
        var shipped = Shipped("1a85da3ffbd7ba00");
        var cache = Path.Combine(_dir, "cache", "teachers", "1a85da3ffbd7ba00");

        Assert.True(ShippedTeacher.TryCopy(shipped, "1a85da3ffbd7ba00", cache));

        Assert.Equal(["charts/loss.png", "model.safetensors", ShippedTeacher.ProvenanceFile],
            Directory.GetFiles(cache, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(cache, f).Replace('\\', '/')).Order(StringComparer.Ordinal));
        Assert.Equal("weights", File.ReadAllText(Path.Combine(cache, "model.safetensors")));
        Assert.False(Directory.Exists(cache + ".copying"));
    }

    [Theory]
    [InlineData("0000000000000000")]
    [InlineData(null)]
    public void Another_recipe_key_or_no_provenance_leaves_the_cache_untouched(string? key)
    {
        var shipped = Shipped(key);
        var cache = Path.Combine(_dir, "cache", "teachers", "1a85da3ffbd7ba00");

        Assert.False(ShippedTeacher.TryCopy(shipped, "1a85da3ffbd7ba00", cache));

        Assert.False(Directory.Exists(Path.Combine(_dir, "cache")));
    }

    [Fact]
    public void A_copy_cut_short_earlier_is_replaced_not_taken_for_a_teacher()
    {
        var shipped = Shipped("1a85da3ffbd7ba00");
        var cache = Path.Combine(_dir, "cache", "teachers", "1a85da3ffbd7ba00");
        Directory.CreateDirectory(cache + ".copying");
        File.WriteAllText(Path.Combine(cache + ".copying", "model.safetensors"), "half");

        Assert.True(ShippedTeacher.TryCopy(shipped, "1a85da3ffbd7ba00", cache));

        Assert.Equal("weights", File.ReadAllText(Path.Combine(cache, "model.safetensors")));
    }

    [Fact]
    public void The_shipped_teacher_was_trained_with_the_default_recipe()
    {
        // A changed default (steps, lr, preset...) changes the recipe key, and the quickstart would silently train a new teacher
        // for half an hour: retrain and ship it with the change. (The key's other half, the demonstrations, changes with the world.)
        var folder = Path.Combine(RepoPaths.Root, "models", "quickstart-teacher");
        var shipped = TrainConfig.Load(Path.Combine(folder, "train_config.json"));
        var recipe = QuickstartTrainConfigs.Teacher(QuickstartPlan.Full, "auto");

        Assert.Equal((recipe with { Datasets = [], Out = "" }).ToJson(), (shipped with { Datasets = [], Out = "" }).ToJson());
        Assert.Equal(shipped.ToJson(), TrainConfig.Parse((JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(folder, ShippedTeacher.ProvenanceFile)))!["config"]!.DeepClone()).ToJson());
        Assert.Matches("^[0-9a-f]{16}$", ShippedTeacher.Key(folder));
        Assert.True(new FileInfo(Path.Combine(folder, "model.safetensors")).Length > 1_000_000);
        // The build puts it where `distill` looks: beside the assembly (here the test's output, which gets the CLI's copy).
        Assert.Equal(ShippedTeacher.Key(folder), ShippedTeacher.Key(ShippedTeacher.Folder));
        Assert.True(File.Exists(Path.Combine(ShippedTeacher.Folder, "model.safetensors")));
    }

    [Fact]
    public async Task The_shipped_key_is_the_key_a_quickstart_computes_today()
    {
        // The key's other half: the demonstrations stage 1 writes. A changed world, template or scripted teacher changes them,
        // and the quickstart would train a new teacher for 20 minutes instead of copying this one: retrain and ship it then.
        var demonstrations = Path.Combine(_dir, "demonstrations");
        var generate = await CliRun.RunAsync(["--set", $"Paths:Prompts={RepoPaths.Prompts}", "--set", $"Paths:Cache={Path.Combine(_dir, "cache")}",
            "generate", .. QuickstartCommand.DemonstrationArguments("world:train", QuickstartPlan.Full.Demos, demonstrations)]);
        Assert.True(generate.ExitCode == 0, generate.Error);

        var key = await QuickstartCommand.TeacherCacheKeyAsync(QuickstartTrainConfigs.Teacher(QuickstartPlan.Full, "auto"), demonstrations, CancellationToken.None);

        Assert.Equal(ShippedTeacher.Key(Path.Combine(RepoPaths.Root, "models", "quickstart-teacher")), key);
    }
}
