using Distill.Core.Errors;
using Distill.Core.Samples;
using Microsoft.SemanticKernel;

namespace Distill.Generation.Templates;

/// <summary>
/// Renders templates with Semantic Kernel's <see cref="KernelPromptTemplateFactory"/> into chat messages.
/// </summary>
/// <remarks>
/// Each section (<c>## system</c>, <c>## user</c>) is a separate SK template, so a variable value can never open a new
/// message. Values are inserted verbatim (<c>AllowDangerouslySetContent</c>): SK's default HTML-encoding exists for its
/// <c>&lt;message&gt;</c> chat syntax, which Distill does not use, and would turn <c>&lt;</c> into <c>&amp;lt;</c>.
/// The student view uses <c>## student system</c> / <c>## student user</c> where the template has them and the teacher
/// section otherwise; lint guarantees that privileged variables appear only in teacher sections that have a student
/// counterpart, so the student view never contains them.
/// </remarks>
public sealed class TemplateRenderer
{
    private readonly Kernel _kernel = new();
    private readonly TemplateLibrary? _library;

    public TemplateRenderer(TemplateLibrary? library = null) => _library = library;

    public Task<RenderedPrompt> RenderAsync(
        string templateId, IReadOnlyDictionary<string, object?> values, CancellationToken cancellationToken = default) =>
        RenderAsync(
            (_library ?? throw new InvalidOperationException("this renderer has no library; pass a TemplateDefinition")).Get(templateId),
            values,
            cancellationToken);

    /// <summary>
    /// Checks <paramref name="values"/> against the declared variables (types, required, unknown names), applies defaults
    /// and renders. Throws one <see cref="DistillException"/> naming the template file and every bad variable.
    /// </summary>
    public async Task<RenderedPrompt> RenderAsync(
        TemplateDefinition template, IReadOnlyDictionary<string, object?> values, CancellationToken cancellationToken = default)
    {
        var texts = ResolveVariables(template, values);
        var arguments = new KernelArguments();
        foreach (var (name, text) in texts)
        {
            arguments[name] = text;
        }

        var teacher = new List<ChatMessage>();
        var student = new List<ChatMessage>();
        foreach (var (role, name) in new[] { (ChatRoles.System, TemplateSections.System), (ChatRoles.User, TemplateSections.User) })
        {
            if (template.Section(name) is not { } section)
            {
                continue;
            }

            var teacherText = await RenderSectionAsync(section, arguments, cancellationToken).ConfigureAwait(false);
            var studentSection = template.Section("student " + name);
            var studentText = studentSection is null
                ? teacherText
                : await RenderSectionAsync(studentSection, arguments, cancellationToken).ConfigureAwait(false);
            teacher.Add(new ChatMessage { Role = role, Content = teacherText });
            student.Add(new ChatMessage { Role = role, Content = studentText });
        }

        var privilegedUsed = template.Privileged.Any(p => texts[p].Length > 0);
        var visible = texts.Where(kv => !template.IsPrivileged(kv.Key)).ToDictionary();
        return new RenderedPrompt(template, teacher, student, privilegedUsed, visible);
    }

    private async Task<string> RenderSectionAsync(TemplateSection section, KernelArguments arguments, CancellationToken cancellationToken) =>
        await (section.Compiled ?? throw new InvalidOperationException($"section '{section.Name}' was not compiled"))
            .RenderAsync(_kernel, arguments, cancellationToken).ConfigureAwait(false);

    /// <summary>The formatted text of every declared variable: the given value, else its default, else empty.</summary>
    public static IReadOnlyDictionary<string, string> ResolveVariables(TemplateDefinition template, IReadOnlyDictionary<string, object?> values)
    {
        var errors = new List<string>();
        foreach (var name in values.Keys.Where(k => template.FindVariable(k) is null).Order(StringComparer.Ordinal))
        {
            var declared = template.Variables.Count == 0 ? "none" : string.Join(", ", template.Variables.Select(v => v.Name));
            errors.Add($"{template.FilePath}: template '{template.Id}' has no variable '{name}' (declared: {declared})");
        }

        var texts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var variable in template.Variables)
        {
            var where = $"{template.FilePath}:{variable.Line}";
            if (values.TryGetValue(variable.Name, out var value) && value is not null)
            {
                if (VariableValues.TryFormat(variable.Type, value, out var text, out var error))
                {
                    texts[variable.Name] = text;
                }
                else
                {
                    errors.Add($"{where}: variable '{variable.Name}' of template '{template.Id}' {error}");
                }
            }
            else if (variable.DefaultText is { } fallback)
            {
                texts[variable.Name] = fallback;
            }
            else if (variable.Required)
            {
                errors.Add($"{where}: template '{template.Id}' needs variable '{variable.Name}' ({VariableValues.TypeName(variable.Type)}), " +
                           "which is required and was not given");
            }
            else
            {
                texts[variable.Name] = "";
            }
        }

        return errors.Count == 0
            ? texts
            : throw new DistillException(
                string.Join('\n', errors),
                $"pass each variable as --vars name=value; {template.FilePath} declares their types");
    }
}
