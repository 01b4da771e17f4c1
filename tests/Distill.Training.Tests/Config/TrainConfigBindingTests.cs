using System.Text.Json.Nodes;
using Distill.Core.Configuration;
using Distill.Core.Errors;
using Distill.Models.Chat;
using Distill.Training.Config;
using Distill.Training.Data;
using Distill.Training.Schedules;

namespace Distill.Training.Tests.Config;

/// <summary>The train config is bound as strictly as appsettings: every problem named by its colon path and its source, all at once.</summary>
public sealed class TrainConfigBindingTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("distill-train-config-").FullName;

    private string File(string json)
    {
        var path = Path.Combine(_folder, $"{Guid.NewGuid():N}.json");
        System.IO.File.WriteAllText(path, json);
        return path;
    }

    private static ConfigurationProblem Single(ConfigurationException e) => Assert.Single(e.Problems);

    [Fact]
    public void An_unknown_key_is_named_with_its_path_its_file_and_a_suggestion()
    {
        var path = File("""{ "optimizer": { "lrr": 0.1 } }""");

        var e = Assert.Throws<ConfigurationException>(() => TrainConfig.Load(path));

        var problem = Single(e);
        Assert.Equal("optimizer:lrr", problem.Key);
        Assert.Equal(path, problem.Source);
        Assert.Equal($"Invalid train config: setting 'optimizer:lrr' in {path}: unknown setting (did you mean 'lr'?)", e.Message);
        Assert.DoesNotContain('\n', e.OneLine);
    }

    [Fact]
    public void Values_of_the_wrong_type_are_named_with_the_expected_type()
    {
        var e = Assert.Throws<ConfigurationException>(() => TrainConfig.Load(File(
            """{ "steps": "many", "batch": { "size": 1.5 }, "datasets": "datasets/world", "data": { "verified_only": "yes" }, "loss": 3 }""")));

        Assert.Equal(5, e.Problems.Count);
        Assert.Contains(e.Problems, p => p.Key == "steps" && p.Message == "'many' is not a valid whole number");
        Assert.Contains(e.Problems, p => p.Key == "batch:size" && p.Message == "1.5 is not a valid whole number");
        Assert.Contains(e.Problems, p => p.Key == "datasets" && p.Message == "expected a list, found 'datasets/world'");
        Assert.Contains(e.Problems, p => p.Key == "data:verified_only" && p.Message == "'yes' is not a valid true/false value");
        Assert.Contains(e.Problems, p => p.Key == "loss" && p.Message == "expected an object, found 3");
    }

    [Fact]
    public void A_bad_enum_value_lists_the_names_the_config_accepts()
    {
        var e = Assert.Throws<ConfigurationException>(() => TrainConfig.Parse(new JsonObject
        {
            ["loss"] = new JsonObject { ["kind"] = "magic", ["divergence"] = "kl", ["alpha"] = new JsonObject { ["kind"] = "step" } },
            ["data"] = new JsonObject { ["batching"] = "Pack2", ["truncation"] = 1 },
        }));

        Assert.Contains(e.Problems, p => p.Key == "loss:kind" && p.Message == "'magic' is not a valid choice (one of: sft, topk_kd, online_kd, cot)");
        Assert.Contains(e.Problems, p => p.Key == "loss:divergence" && p.Message.EndsWith("(one of: forward_kl, reverse_kl, jsd, skew_kl, skew_reverse_kl)", StringComparison.Ordinal));
        Assert.Contains(e.Problems, p => p.Key == "loss:alpha:kind" && p.Message.EndsWith("(one of: constant, linear, cosine)", StringComparison.Ordinal));
        Assert.Contains(e.Problems, p => p.Key == "data:batching" && p.Message.EndsWith("(one of: pack, bucket)", StringComparison.Ordinal));
        Assert.Contains(e.Problems, p => p.Key == "data:truncation" && p.Message == "1 is not a valid choice (one of: right, left)");
        Assert.Equal(5, e.Problems.Count);
    }

    [Fact]
    public void Enum_values_read_and_write_as_the_snake_case_names_of_the_presets()
    {
        var config = TrainConfig.Parse(new JsonObject
        {
            ["loss"] = new JsonObject { ["kind"] = "topk_kd", ["divergence"] = "skew_reverse_kl", ["temperature"] = new JsonObject { ["kind"] = "cosine", ["start"] = 2.0, ["end"] = 1.0 } },
            ["data"] = new JsonObject { ["batching"] = "bucket", ["truncation"] = "left" },
            ["chat"] = new JsonObject { ["tool_format"] = "compact" },
        });

        Assert.Equal(LossKind.TopKKd, config.Loss.Kind);
        Assert.Equal(DivergenceName.SkewReverseKl, config.Loss.Divergence);
        Assert.Equal(ScheduleKind.Cosine, config.Loss.Temperature.Kind);
        Assert.Equal(BatchingMode.Bucket, config.Data.Batching);
        Assert.Equal(TruncationSide.Left, config.Data.Truncation);
        Assert.Equal(ChatToolFormat.Compact, config.Chat!.ToolFormat);
        var json = config.ToJson();
        foreach (var name in new[] { "\"topk_kd\"", "\"skew_reverse_kl\"", "\"cosine\"", "\"bucket\"", "\"left\"", "\"compact\"" }) Assert.Contains(name, json);
        Assert.Equal(json, TrainConfig.Parse((JsonObject)JsonNode.Parse(json)!).ToJson());
        Assert.Equal("topk_kd", ConfigNames.Of(LossKind.TopKKd));
    }

    [Theory]
    [InlineData("optimizer:lr=0.5")]
    [InlineData("optimizer.lr=0.5")]
    [InlineData("optimizer__lr=0.5")]
    public void Set_takes_the_colon_path_of_appsettings_and_the_dotted_form_too(string item)
    {
        var config = TrainConfig.Load(File("""{ "optimizer": { "lr": 0.1 } }"""), [item, "loss:kind=cot", "steps=3", "name=x y", "chat:system_prompt=null"]);

        Assert.Equal(0.5, config.Optimizer.Lr);
        Assert.Equal(0.1, config.Optimizer.MinLrRatio); // the rest of the section keeps its values
        Assert.Equal(LossKind.Cot, config.Loss.Kind);
        Assert.Equal(3, config.Steps);
        Assert.Equal("x y", config.Name);
        Assert.Null(config.Chat!.SystemPrompt);
    }

    [Fact]
    public void Set_replaces_list_items_and_whole_lists()
    {
        var path = File("""{ "datasets": ["a", "b"] }""");

        Assert.Equal(new[] { "a", "c" }, TrainConfig.Load(path, ["datasets:1=c"]).Datasets);
        Assert.Equal(new[] { "x" }, TrainConfig.Load(path, ["""datasets=["x"]"""]).Datasets);
        var e = Assert.Throws<DistillException>(() => TrainConfig.Load(path, ["datasets:5=c"]));
        Assert.Contains("not an index of the list", e.Message);
    }

    [Fact]
    public void A_problem_in_a_set_value_names_set_as_its_source()
    {
        var e = Assert.Throws<ConfigurationException>(() => TrainConfig.Load(File("{}"), ["optimizer:lrr=1", "steps=ten"]));

        Assert.Contains(e.Problems, p => p.Key == "optimizer:lrr" && p.Source == "--set" && p.Message.Contains("did you mean 'lr'?", StringComparison.Ordinal));
        Assert.Contains(e.Problems, p => p.Key == "steps" && p.Source == "--set");
        Assert.Throws<DistillException>(() => TrainConfig.Load(File("{}"), ["steps"]));
    }

    [Fact]
    public void Value_problems_name_their_key_path_after_binding()
    {
        var config = TrainConfig.Parse(new JsonObject
        {
            ["student"] = new JsonObject { ["preset"] = "tiny-test", ["tokenizer"] = "world" },
            ["datasets"] = new JsonArray(_folder),
            ["loss"] = new JsonObject { ["kind"] = "topk_kd", ["top_k"] = 0, ["beta"] = 2.0 },
            ["optimizer"] = new JsonObject { ["lr"] = 0 },
        });

        var problems = config.Problems();

        Assert.Equal(new[] { "loss:top_k", "loss:beta", "optimizer:lr" }, problems.Select(p => p.Key));
        var e = Assert.Throws<ConfigurationException>(config.Validate);
        Assert.StartsWith("Invalid train config (3 problems): setting 'loss:top_k': must be >= 1 for topk_kd", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_that_is_not_json_names_the_line()
    {
        var e = Assert.Throws<DistillException>(() => TrainConfig.Load(File("{\n  \"steps\": 3\n  \"seed\": 1\n}")));
        Assert.Contains("line 3", e.Message);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
