namespace Distill.Core.Samples;

/// <summary>The kinds of distillation sample a dataset holds.</summary>
public static class SampleKinds
{
    public const string Instruction = "instruction";
    public const string ChainOfThought = "cot";
    public const string ToolTrace = "tool_trace";
    public const string Dialogue = "dialogue";

    public static readonly IReadOnlyList<string> All = [Instruction, ChainOfThought, ToolTrace, Dialogue];

    public static bool IsKnown(string kind) => All.Contains(kind);
}
