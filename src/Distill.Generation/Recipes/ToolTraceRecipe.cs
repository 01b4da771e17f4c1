using Distill.Core.Samples;
using Distill.Generation.Tools;

namespace Distill.Generation.Recipes;

/// <summary>
/// tool_trace: the teacher uses the tools turn by turn until it answers without a tool call (or hits
/// <see cref="RecipeContext.MaxSteps"/>: step_limit). The stored messages are the student view (privileged context left out)
/// plus every assistant and tool turn, each assistant turn with the teacher's logprobs for it. An invalid or unknown tool call is answered with a tool error once; a second one rejects
/// the sample with that error's reason. Verified against the task's expected calls and answer facts when it has them.
/// </summary>
public sealed class ToolTraceRecipe(RecipeContext context) : IRecipe
{
    public const string StepLimit = "step_limit";
    public const string EmptyAnswer = "empty_answer";
    public const string MalformedToolCall = "malformed_tool_call";

    private readonly ToolRuntime _tools = context.Tools ?? throw new ArgumentException("tool_trace needs a tool runtime", nameof(context));

    public string Name => SampleKinds.ToolTrace;

    public int EstimatedCalls(SeedTask task) => (task.ExpectedCalls?.Count ?? 2) + 1;

    public async Task<RecipeResult> RunAsync(SeedTask task, string sampleId, int index, CancellationToken cancellationToken)
    {
        var builder = new SampleBuilder(context, sampleId, index, task);
        return await builder.GuardAsync(Name, async student =>
        {
            var rendered = await builder.RenderAsync(context.Template, task.Input, cancellationToken).ConfigureAwait(false);
            var teacher = rendered.TeacherMessages.ToList();
            student.AddRange(rendered.StudentMessages);
            var final = await RunAgentAsync(builder, _tools, teacher, student, new ToolErrorBudget(), 0, cancellationToken).ConfigureAwait(false);
            var sample = builder.Build(Name, student, rendered.PrivilegedContextUsed, _tools.SchemasJson) with
            {
                Answer = final.Content,
            };
            return new RecipeResult(Verify(sample, task), null);
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// The agent's turn: teacher calls with tools, each tool call executed and its result appended to both views, until the teacher
    /// answers without a tool call (returned). Rejects with step_limit, empty_answer, malformed_tool_call, or a second tool
    /// error's reason.
    /// </summary>
    internal static async Task<Distill.Teachers.TeacherResponse> RunAgentAsync(SampleBuilder builder, ToolRuntime tools, List<ChatMessage> teacher,
        List<ChatMessage> student, ToolErrorBudget errors, int variantBase, CancellationToken cancellationToken)
    {
        var context = builder.Context;
        for (var step = 0; step < context.MaxSteps; step++)
        {
            var response = await builder.CallAsync(context.Template, teacher, tools.SchemasJson, variantBase + step, cancellationToken).ConfigureAwait(false);
            // Every turn keeps its own logprobs, tool-call turns included: the turn that copies an id into a call is distilled too.
            var assistant = ChatMessage.Assistant(response.Content, response.ToolCalls, response.Reasoning, response.Logprobs, response.LogprobProvenance);
            teacher.Add(assistant);
            student.Add(assistant);
            if (response.ToolCalls.Count == 0)
            {
                if (string.IsNullOrWhiteSpace(response.Content)) throw new SampleRejectedException(EmptyAnswer);
                // A call the server could not parse comes back as text (vLLM, `distill serve`): not an answer to keep.
                if (response.Content.Contains("<tool_call>", StringComparison.Ordinal)) throw new SampleRejectedException(MalformedToolCall);
                return response;
            }
            foreach (var call in response.ToolCalls)
            {
                var result = await tools.InvokeAsync(call, cancellationToken).ConfigureAwait(false);
                var toolTurn = result.ToMessage(call);
                teacher.Add(toolTurn);
                student.Add(toolTurn);
                if (result.ErrorReason is { } reason && ++errors.Fed > 1) throw new SampleRejectedException(reason);
            }
        }
        throw new SampleRejectedException(StepLimit);
    }

    internal static Sample Verify(Sample sample, SeedTask task)
    {
        if (task.ExpectedCalls is null && task.ExpectedFacts is null) return sample;
        var calls = new List<ToolCall>();
        for (var i = 0; i < sample.Messages.Count; i++)
        {
            foreach (var call in sample.Messages[i].ToolCalls)
            {
                var result = sample.Messages.FirstOrDefault(m => m.Role == ChatRoles.Tool && m.ToolCallId == call.Id);
                if (result is not { IsError: true }) calls.Add(call);
            }
        }
        var verdict = TraceVerifier.Check(calls, sample.Answer ?? "", task.ExpectedCalls, task.ExpectedFacts, task.ForbiddenFacts);
        return sample with { Verified = verdict.Passed, Verifier = TraceVerifier.Name, Score = verdict.Score };
    }
}

/// <summary>Tool errors fed back so far in one sample: the first is fed back, the second rejects.</summary>
internal sealed class ToolErrorBudget
{
    public int Fed;
}
