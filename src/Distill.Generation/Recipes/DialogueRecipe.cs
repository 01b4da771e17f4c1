using Distill.Core.Samples;
using Distill.Generation.Tools;

namespace Distill.Generation.Recipes;

/// <summary>
/// dialogue: a simulated customer (<see cref="RecipeContext.SimulatorTemplate"/>, e.g. user-simulator) talks to the agent (the
/// run's template, e.g. tool-agent) for up to <see cref="RecipeContext.MaxTurns"/> customer turns. The seed input is the
/// customer's goal and first message; each agent turn may use the tools (same rules as tool_trace). The simulator ends the
/// conversation with its stop marker. Verified like a tool trace, on every agent answer together.
/// </summary>
public sealed class DialogueRecipe(RecipeContext context) : IRecipe
{
    public const string DefaultPersona = "a polite customer who writes short, plain messages";
    private const string StopMarker = "[DONE]";

    private readonly ToolRuntime _tools = context.Tools ?? throw new ArgumentException("dialogue needs a tool runtime", nameof(context));

    public string Name => SampleKinds.Dialogue;

    public int EstimatedCalls(SeedTask task) => context.MaxTurns * ((task.ExpectedCalls?.Count ?? 2) + 2);

    public async Task<RecipeResult> RunAsync(SeedTask task, string sampleId, int index, CancellationToken cancellationToken)
    {
        var simulator = context.SimulatorTemplate ?? throw new InvalidOperationException("dialogue needs a simulator template");
        var builder = new SampleBuilder(context, sampleId, index, task);
        return await builder.GuardAsync(Name, async student =>
        {
            var rendered = await builder.RenderAsync(context.Template, task.Input, cancellationToken).ConfigureAwait(false);
            var teacher = rendered.TeacherMessages.ToList();
            student.AddRange(rendered.StudentMessages);
            var transcript = new List<string> { $"customer: {task.Input}" };
            var answers = new List<Distill.Teachers.TeacherResponse>();
            var errors = new ToolErrorBudget();
            for (var turn = 0; turn < Math.Max(1, context.MaxTurns); turn++)
            {
                var answer = await ToolTraceRecipe.RunAgentAsync(builder, _tools, teacher, student, errors, turn * 100, cancellationToken).ConfigureAwait(false);
                answers.Add(answer);
                transcript.Add($"agent: {answer.Content}");
                if (turn == context.MaxTurns - 1) break;

                var values = new Dictionary<string, object?>(StringComparer.Ordinal)
                {
                    ["persona"] = context.Variables.TryGetValue("persona", out var p) && p is not null ? p : DefaultPersona,
                    ["goal"] = task.Input,
                    ["transcript"] = string.Join('\n', transcript),
                };
                var prompt = await context.Renderer.RenderAsync(simulator, values, cancellationToken).ConfigureAwait(false);
                var next = await builder.CallAsync(simulator, prompt.TeacherMessages, null, 10_000 + turn, cancellationToken).ConfigureAwait(false);
                var message = next.Content?.Trim() ?? "";
                if (message.Length == 0 || message.Contains(StopMarker, StringComparison.Ordinal)) break;
                transcript.Add($"customer: {message}");
                teacher.Add(ChatMessage.User(message));
                student.Add(ChatMessage.User(message));
            }
            var sample = builder.Build(Name, student, rendered.PrivilegedContextUsed, _tools.SchemasJson) with
            {
                Answer = string.Join("\n", answers.Select(a => a.Content)),
            };
            return new RecipeResult(ToolTraceRecipe.Verify(sample, task) with { Answer = answers[^1].Content }, null);
        }).ConfigureAwait(false);
    }
}
