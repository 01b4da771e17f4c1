using Distill.Core.Samples;

namespace Distill.Generation.Templates;

/// <summary>A rendered template: what the teacher receives and what the dataset stores for the student.</summary>
/// <param name="TeacherMessages">System (when the template has one) and user message, privileged context included.</param>
/// <param name="StudentMessages">The same turns as the student sees them: privileged variables left out.</param>
/// <param name="PrivilegedContextUsed">True when a privileged variable had a non-empty value; goes on the dataset row.</param>
/// <param name="StudentVisibleVariables">The formatted values of the non-privileged variables (defaults applied), for lineage.</param>
public sealed record RenderedPrompt(
    TemplateDefinition Template,
    IReadOnlyList<ChatMessage> TeacherMessages,
    IReadOnlyList<ChatMessage> StudentMessages,
    bool PrivilegedContextUsed,
    IReadOnlyDictionary<string, string> StudentVisibleVariables)
{
    public string TemplateId => Template.Id;
    public string TemplateVersion => Template.Version;
    public string Recipe => Template.Recipe;
    public GenerationParams Parameters => Template.Parameters;
    public OutputContract Output => Template.Output;
}
