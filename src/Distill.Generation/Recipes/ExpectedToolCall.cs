namespace Distill.Generation.Recipes;

/// <summary>A tool call a task's correct trajectory makes: the tool's name and the arguments it must be given.</summary>
public sealed record ExpectedToolCall(string Name, IReadOnlyDictionary<string, string> Arguments);
