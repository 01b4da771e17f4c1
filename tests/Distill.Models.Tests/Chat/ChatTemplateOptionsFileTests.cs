using Distill.Core.Errors;
using Distill.Models.Chat;

namespace Distill.Models.Tests.Chat;

public class ChatTemplateOptionsFileTests
{
    [Fact]
    public void Saved_options_load_back_equal()
    {
        using var dir = new TempDir();
        var options = new ChatTemplateOptions { ToolFormat = ChatToolFormat.Compact, DefaultSystemPrompt = "You help customers. Café \"ok\"." };

        ChatTemplateOptionsFile.Save(dir.Path, options);

        Assert.Equal(options, ChatTemplateOptionsFile.Load(dir.Path));
    }

    [Fact]
    public void File_is_small_readable_json_with_every_key()
    {
        using var dir = new TempDir();

        ChatTemplateOptionsFile.Save(dir.Path, new ChatTemplateOptions { ToolFormat = ChatToolFormat.Compact, DefaultSystemPrompt = null });

        Assert.Equal("""
            {
              "template": "qwen2.5-chatml",
              "tool_format": "compact",
              "system_prompt": null
            }

            """.ReplaceLineEndings("\n"), File.ReadAllText(dir.File(ChatTemplateOptionsFile.FileName)));
        Assert.Null(ChatTemplateOptionsFile.Load(dir.Path)!.DefaultSystemPrompt);
    }

    [Fact]
    public void Folder_without_the_file_renders_as_before_with_json_schemas()
    {
        using var dir = new TempDir();

        Assert.Null(ChatTemplateOptionsFile.Load(dir.Path));
        Assert.Equal(new ChatTemplateOptions(), ChatTemplateOptionsFile.LoadOrDefault(dir.Path));
        Assert.Equal(ChatToolFormat.Json, ChatTemplateOptionsFile.LoadOrDefault(dir.Path).ToolFormat);
    }

    [Fact]
    public void Absent_keys_keep_their_defaults()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File(ChatTemplateOptionsFile.FileName), """{"tool_format": "compact"}""");

        var options = ChatTemplateOptionsFile.Load(dir.Path)!;

        Assert.Equal(ChatToolFormat.Compact, options.ToolFormat);
        Assert.Equal(ChatTemplateOptions.HelpfulAssistant, options.DefaultSystemPrompt);
    }

    [Theory]
    [InlineData("""{"tool_format": "yaml"}""", "tool_format")]
    [InlineData("""{"tools": "compact"}""", "unknown key 'tools'")]
    [InlineData("""{"template": "llama3"}""", "llama3")]
    [InlineData("""{"system_prompt": 3}""", "system_prompt")]
    [InlineData("""[1]""", "not a JSON object")]
    [InlineData("""{"tool_format": """, "not valid JSON")]
    public void Bad_files_are_user_facing_errors_naming_the_problem(string text, string expected)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File(ChatTemplateOptionsFile.FileName), text);

        var error = Assert.Throws<DistillException>(() => ChatTemplateOptionsFile.Load(dir.Path));

        Assert.Contains(expected, error.Message);
    }
}
