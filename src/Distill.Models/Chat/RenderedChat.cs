namespace Distill.Models.Chat;

/// <summary>A conversation rendered to text, kept as segments so the assistant parts stay known.</summary>
public sealed record RenderedChat(IReadOnlyList<ChatSegment> Segments)
{
    public string Text { get; } = string.Concat(Segments.Select(s => s.Text));

    /// <summary>The assistant text in order, e.g. to compare with what the mask selects.</summary>
    public string AssistantText => string.Concat(Segments.Where(s => s.IsAssistant).Select(s => s.Text));
}
