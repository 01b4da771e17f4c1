using System.Text.Json.Nodes;
using Distill.Core.Errors;
using Distill.Models.Chat;
using Distill.Training.Config;
using Distill.Training.Data;
using Distill.Training.Trainer;
using Distill.Core.Configuration;

namespace Distill.Training.Tests.Trainer;

/// <summary>The chat format a run trains with is the one its folder is served with.</summary>
[Collection(TrainingCollection.Name)]
public class ChatFormatTests(TrainingFixture fx)
{
    private static readonly ChatTemplateOptions Compact = new() { ToolFormat = ChatToolFormat.Compact };

    private async Task<string> Train(string runDir, Action<JsonObject>? edit = null)
    {
        var lines = new List<string>();
        await TrainerHost.RunAsync(TrainConfig.Load(fx.WriteConfig(runDir, o => { o["steps"] = 2; o["eval"] = new JsonObject { ["every"] = 0, ["batches"] = 1 }; edit?.Invoke(o); })),
            new LineLogger(lines.Add));
        return string.Join('\n', lines);
    }

    private string FolderWith(ChatTemplateOptions? options)
    {
        var dir = fx.NewDir("base");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), "{}");
        if (options is not null) ChatTemplateOptionsFile.Save(dir, options);
        return dir;
    }

    [Fact]
    public async Task A_run_writes_the_configs_chat_options_into_its_folder_and_a_student_trained_from_it_inherits_them()
    {
        var first = fx.NewDir("chat-first");
        var log = await Train(first, o => o["chat"] = new JsonObject { ["tool_format"] = "compact", ["system_prompt"] = "You help shoppers." });

        var saved = ChatTemplateOptionsFile.Load(first);
        Assert.Equal(new ChatTemplateOptions { ToolFormat = ChatToolFormat.Compact, DefaultSystemPrompt = "You help shoppers." }, saved);
        Assert.Contains("chat: tool_format compact, system_prompt \"You help shoppers.\" (from the config)", log);

        var second = fx.NewDir("chat-second");
        var inherited = await Train(second, o => o["student"] = new JsonObject { ["model"] = first });

        Assert.Equal(saved, ChatTemplateOptionsFile.Load(second));
        Assert.Contains($"(from {ChatTemplateOptionsFile.FileName} in {first})", inherited);
    }

    [Fact]
    public async Task Resuming_a_run_with_other_chat_options_is_refused()
    {
        var run = fx.NewDir("chat-resume");
        await Train(run, o => o["chat"] = new JsonObject { ["tool_format"] = "compact" });

        var error = await Assert.ThrowsAsync<DistillException>(() => Train(run, o => { o["steps"] = 4; o["chat"] = new JsonObject { ["tool_format"] = "json" }; }));

        Assert.Contains("was started with chat tool_format compact", error.Message);
    }

    [Fact]
    public void A_base_folder_with_options_wins_over_no_chat_section_and_refuses_a_different_one()
    {
        var dir = FolderWith(Compact);

        Assert.Equal(Compact, StudentChatOptions.Resolve(new TrainConfig { Student = new StudentConfig { Model = dir } }).Options);
        Assert.Equal(Compact, StudentChatOptions.Resolve(new TrainConfig { Student = new StudentConfig { Model = dir }, Chat = new ChatConfig { ToolFormat = ChatToolFormat.Compact } }).Options);
        var error = Assert.Throws<DistillException>(() =>
            StudentChatOptions.Resolve(new TrainConfig { Student = new StudentConfig { Model = dir }, Chat = new ChatConfig { ToolFormat = ChatToolFormat.Json } }));
        Assert.Contains("was trained with chat tool_format compact", error.Message);
    }

    [Fact]
    public void Without_a_saved_file_the_config_decides_and_without_either_the_old_json_default_stays()
    {
        var bare = FolderWith(null);

        Assert.Equal(Compact, StudentChatOptions.Resolve(new TrainConfig { Student = new StudentConfig { Model = bare }, Chat = new ChatConfig { ToolFormat = ChatToolFormat.Compact } }).Options);
        Assert.Equal(Compact, StudentChatOptions.Resolve(new TrainConfig { Student = new StudentConfig { Preset = "tiny-test" }, Chat = new ChatConfig { ToolFormat = ChatToolFormat.Compact } }).Options);
        Assert.Equal(new ChatTemplateOptions(), StudentChatOptions.Resolve(new TrainConfig { Student = new StudentConfig { Model = bare } }).Options);
    }

    [Fact]
    public void Chat_keys_are_validated_like_the_others_and_set_with_dotted_overrides()
    {
        var unknownFormat = Assert.Throws<ConfigurationException>(() => TrainConfig.Parse(new JsonObject { ["chat"] = new JsonObject { ["tool_format"] = "yaml" } }));
        Assert.Contains("setting 'chat:tool_format': 'yaml' is not a valid choice (one of: json, compact)", unknownFormat.Message);

        Assert.Throws<ConfigurationException>(() => TrainConfig.Parse(new JsonObject { ["chat"] = new JsonObject { ["tools"] = "compact" } }));

        var set = TrainConfig.Parse(new JsonObject(), ["chat.tool_format=compact", "chat.system_prompt=null"]);
        Assert.Equal(new ChatTemplateOptions { ToolFormat = ChatToolFormat.Compact, DefaultSystemPrompt = null }, set.Chat!.ToOptions());
        Assert.Equal(ChatTemplateOptions.HelpfulAssistant, TrainConfig.Parse(new JsonObject { ["chat"] = new JsonObject() }).Chat!.ToOptions().DefaultSystemPrompt);
        Assert.Contains("\"system_prompt\": null", set.ToJson());
    }

    [Fact]
    public void The_encoder_renders_with_the_students_options()
    {
        var sample = fx.Samples[0];

        var json = new SampleEncoder(fx.Tokenizer, 4096).Encode(sample).Examples[0];
        var compact = new SampleEncoder(fx.Tokenizer, 4096, chat: Compact).Encode(sample).Examples[0];
        var expected = new ChatTemplate(Compact).Tokenize(fx.Tokenizer, sample.Messages, sample.Tools).Ids;

        Assert.Equal(expected[..^1], compact.InputIds);
        Assert.True(compact.Length < json.Length, $"compact {compact.Length} tokens, json {json.Length}");
        Assert.Equal(json.LabelCount, compact.LabelCount);
    }
}
