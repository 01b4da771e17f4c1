using System.Text;
using System.Text.Json;
using Distill.Core.Errors;

namespace Distill.Models.Chat;

/// <summary>
/// <c>chat_template_options.json</c> beside a model's config.json: the <see cref="ChatTemplateOptions"/> the model was trained
/// with, so serving and evaluation render conversations exactly as training did. A small JSON file a Hugging Face user can read:
/// <code>{"template": "qwen2.5-chatml", "tool_format": "compact", "system_prompt": "You are a helpful assistant."}</code>
/// A folder without it (a Hub model, a run from before the file existed) uses the defaults: JSON tool schemas, as Qwen2.5 renders them.
/// </summary>
public static class ChatTemplateOptionsFile
{
    public const string FileName = "chat_template_options.json";

    /// <summary>The only template Distill renders: Qwen2.5's ChatML with tools (see <see cref="ChatTemplate"/>).</summary>
    public const string TemplateName = "qwen2.5-chatml";

    public const string JsonToolFormat = "json";
    public const string CompactToolFormat = "compact";
    public static readonly IReadOnlyList<string> ToolFormatNames = [JsonToolFormat, CompactToolFormat];

    private static readonly string[] Keys = ["template", "tool_format", "system_prompt"];

    /// <summary>The tool format a config or file spells ("json", "compact"), or false.</summary>
    public static bool TryParseToolFormat(string? name, out ChatToolFormat format)
    {
        (var known, format) = name switch
        {
            JsonToolFormat => (true, ChatToolFormat.Json),
            CompactToolFormat => (true, ChatToolFormat.Compact),
            _ => (false, ChatToolFormat.Json),
        };
        return known;
    }

    public static string ToolFormatName(ChatToolFormat format) => format == ChatToolFormat.Compact ? CompactToolFormat : JsonToolFormat;

    /// <summary>The folder's options, or null when it has no <see cref="FileName"/>.</summary>
    /// <exception cref="DistillException">The file is not valid JSON, has unknown keys or values.</exception>
    public static ChatTemplateOptions? Load(string modelDir)
    {
        var path = Path.Combine(modelDir, FileName);
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            return Parse(document.RootElement, path);
        }
        catch (JsonException e)
        {
            throw new DistillException($"{path} is not valid JSON: {e.Message}", $"fix it, or delete it to render with the defaults (tool_format \"{JsonToolFormat}\")", e);
        }
    }

    /// <summary>The folder's options, or the defaults (what the model was trained with before the file existed).</summary>
    public static ChatTemplateOptions LoadOrDefault(string modelDir) => Load(modelDir) ?? new ChatTemplateOptions();

    /// <summary>Writes the options (temp file + rename, so a reader never sees half a file).</summary>
    public static void Save(string modelDir, ChatTemplateOptions options)
    {
        Directory.CreateDirectory(modelDir);
        var path = Path.Combine(modelDir, FileName);
        var tmp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        File.WriteAllText(tmp, ToJson(options) + "\n", new UTF8Encoding(false));
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>The file's text: every key written, system_prompt null when there is no default system turn.</summary>
    public static string ToJson(ChatTemplateOptions options)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("template", TemplateName);
            writer.WriteString("tool_format", ToolFormatName(options.ToolFormat));
            if (options.DefaultSystemPrompt is null)
            {
                writer.WriteNull("system_prompt");
            }
            else
            {
                writer.WriteString("system_prompt", options.DefaultSystemPrompt);
            }
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Reads the file's object; an absent key keeps its default, "system_prompt": null means no default system turn.</summary>
    public static ChatTemplateOptions Parse(JsonElement root, string source)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw Invalid(source, "is not a JSON object");
        }
        foreach (var property in root.EnumerateObject())
        {
            if (!Keys.Contains(property.Name))
            {
                throw Invalid(source, $"has an unknown key '{property.Name}' (known: {string.Join(", ", Keys)})");
            }
        }
        if (root.TryGetProperty("template", out var template) && (template.ValueKind != JsonValueKind.String || template.GetString() != TemplateName))
        {
            throw Invalid(source, $"names template {template.GetRawText()}; this version of Distill renders only \"{TemplateName}\"");
        }
        var options = new ChatTemplateOptions();
        if (root.TryGetProperty("tool_format", out var format))
        {
            if (format.ValueKind != JsonValueKind.String || !TryParseToolFormat(format.GetString(), out var parsed))
            {
                throw Invalid(source, $"has tool_format {format.GetRawText()}; use \"{JsonToolFormat}\" or \"{CompactToolFormat}\"");
            }
            options = options with { ToolFormat = parsed };
        }
        if (root.TryGetProperty("system_prompt", out var prompt))
        {
            if (prompt.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
            {
                throw Invalid(source, "has a system_prompt that is neither text nor null");
            }
            options = options with { DefaultSystemPrompt = prompt.GetString() };
        }
        return options;
    }

    private static DistillException Invalid(string source, string what) =>
        new($"{source} {what}", $"fix it, or delete it to render with the defaults (tool_format \"{JsonToolFormat}\")");
}
