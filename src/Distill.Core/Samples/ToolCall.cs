namespace Distill.Core.Samples;

/// <summary>A function call made by an assistant turn.</summary>
/// <param name="Id">The call id that the matching tool-result turn refers to.</param>
/// <param name="Name">The tool (function) name.</param>
/// <param name="Arguments">The arguments as JSON text, exactly as the model produced them (it may be invalid JSON).</param>
public sealed record ToolCall(string Id, string Name, string Arguments);
