using System.Text.Json;
using Distill.Core.Samples;
using Distill.Generation.Recipes;
using Distill.Generation.Templates;
using Distill.Generation.Tests.Templates;
using Distill.Generation.Tools;
using Distill.Teachers.Tests.FaultServer;
using Distill.World.Store;
using Distill.World.Tasks;
using Distill.World.Tools;

namespace Distill.Generation.Tests.Runner;

/// <summary>
/// A scripted teacher for the fault server: answers the next assistant turn of the World's demonstration for the customer's
/// question, given the conversation so far (successful tool results count as steps taken; tool errors do not).
/// </summary>
internal static class ScriptedWorld
{
    public static readonly StoreWorld World = new();
    private static readonly ScriptedDemonstrations Demos = new(World);
    private static readonly Distill.World.WorldDomain Domain = new(World);

    public static IReadOnlyList<WorldTask> Tasks(int count, string split = WorldSplits.Train) =>
        new WorldTaskGenerator(World).Generate(split, count).ToList();

    public static Func<JsonElement, ScriptedReply> Reply(IEnumerable<WorldTask> tasks)
    {
        var byQuestion = new Dictionary<string, WorldTask>(StringComparer.Ordinal);
        foreach (var t in tasks) byQuestion.TryAdd(t.Question, t);
        return request =>
        {
            var messages = request.GetProperty("messages").EnumerateArray().ToList();
            var question = messages.First(m => m.GetProperty("role").GetString() == "user").GetProperty("content").GetString()!;
            var steps = messages.Count(m => m.GetProperty("role").GetString() == "tool"
                && !(m.GetProperty("content").GetString() ?? "").StartsWith("{\"error\"", StringComparison.Ordinal));
            var demo = Demos.For(byQuestion[question]).Where(m => m.Role == ChatRoles.Assistant).ToList();
            var turn = demo[Math.Min(steps, demo.Count - 1)];
            return turn.ToolCalls.Count > 0
                ? new ScriptedReply(turn.Content, turn.ToolCalls.Select(c => new ScriptedToolCall(c.Name, c.Arguments)).ToList(), "tool_calls", turn.Reasoning)
                : new ScriptedReply(turn.Content, null, "stop", turn.Reasoning);
        };
    }

    public static string PromptsFolder() => Path.Combine(RepoPaths.Root(), "prompts");

    private static TemplateLibrary? _library;
    public static TemplateLibrary Library => _library ??= TemplateLibrary.LoadAndLint(PromptsFolder());

    public static RecipeContext Context(Distill.Teachers.ITeacher teacher, string template = "tool-agent") => new()
    {
        Template = Library.Get(template),
        Teacher = teacher,
        Tools = new ToolRuntime(StoreTools.CreatePlugin(World)),
        // The domain supplies today's date and the policy text, as `distill generate` passes them.
        Variables = Domain.TemplateVariables,
    };
}
