using Distill.Core.Errors;
using Distill.Models.Chat;

namespace Distill.Training.Config;

/// <summary>
/// The chat template options a run trains with, so the run folder can be served exactly as it was trained: a student
/// continued from a model folder keeps that folder's chat_template_options.json; otherwise the config's <c>chat</c>
/// section, or the defaults (JSON tool schemas, as before the file existed).
/// </summary>
public static class StudentChatOptions
{
    /// <summary>The options and where they came from (for the log).</summary>
    /// <exception cref="DistillException">The base model folder was trained with other options than the config's <c>chat</c> asks for.</exception>
    public static (ChatTemplateOptions Options, string Source) Resolve(TrainConfig config)
    {
        var configured = config.Chat?.ToOptions();
        if (config.Student.Model is { } dir && ChatTemplateOptionsFile.Load(dir) is { } saved)
        {
            if (configured is not null && configured != saved)
                throw new DistillException(
                    $"student.model '{dir}' was trained with chat {Describe(saved)}, but the config's chat section says {Describe(configured)}",
                    "remove chat from the config to keep the model's own format (a model answers best in the format it was trained on)");
            return (saved, $"from {ChatTemplateOptionsFile.FileName} in {dir}");
        }
        return configured is not null ? (configured, "from the config") : (new ChatTemplateOptions(), "default");
    }

    /// <summary>The options in a log line: tool_format compact, system_prompt "…".</summary>
    public static string Describe(ChatTemplateOptions options) =>
        $"tool_format {ChatTemplateOptionsFile.ToolFormatName(options.ToolFormat)}, system_prompt "
        + (options.DefaultSystemPrompt is null ? "null" : $"\"{options.DefaultSystemPrompt}\"");
}
