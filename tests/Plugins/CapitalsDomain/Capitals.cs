using Distill.Generation.Domains;
using Distill.Generation.Recipes;
using Distill.Teachers;
using Microsoft.SemanticKernel;

namespace CapitalsDomain;

/// <summary>
/// Questions about capital cities: task sources <c>capitals:train</c> and <c>capitals:heldout</c> (every fourth country is held
/// out), the <c>capital_of</c> tool, the template variable <c>desk</c>, and the scripted teacher <c>capitals-scripted</c>.
/// </summary>
public sealed class Capitals : ITaskDomain
{
    public const string TeacherName = "capitals-scripted";

    public string Name => "capitals";

    public IReadOnlyList<string> Splits { get; } = ["train", "heldout"];

    public IReadOnlyDictionary<string, object?> TemplateVariables { get; } = new Dictionary<string, object?>(StringComparer.Ordinal)
    {
        ["desk"] = "the geography desk of the city library",
    };

    public IReadOnlyList<KernelFunction> Tools { get; } = KernelPluginFactory.CreateFromObject(new Atlas(), "atlas").ToList();

    public string? ScriptedTeacherName => TeacherName;

    public IReadOnlyList<SeedTask> Tasks(string split, int count, string? filter = null)
    {
        if (!Splits.Contains(split)) throw new ArgumentException($"capitals has no split '{split}'", nameof(split));
        var heldOut = split == "heldout";
        return Atlas.Capitals
            .Where((_, i) => i % 4 == 3 == heldOut)
            .Take(count)
            .Select(c => new SeedTask(
                Id: $"capitals-{c.Country.ToLowerInvariant()}",
                Input: $"What is the capital of {c.Country}?",
                ExpectedCalls: [new ExpectedToolCall(Atlas.ToolName, new Dictionary<string, string> { ["country"] = c.Country })],
                ExpectedFacts: [c.Capital]))
            .ToList();
    }

    public ITeacher CreateScriptedTeacher(IReadOnlyList<SeedTask> tasks) => new Geographer(tasks);
}
