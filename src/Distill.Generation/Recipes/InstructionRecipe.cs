using Distill.Core.Samples;

namespace Distill.Generation.Recipes;

/// <summary>
/// instruction (self-instruct): the teacher answers the seed instruction. With <see cref="RecipeContext.EvolTemplate"/> set
/// (evol-instruct), the teacher first rewrites the instruction into a deeper one, and then answers the rewrite.
/// </summary>
public sealed class InstructionRecipe(RecipeContext context) : IRecipe
{
    public const string EmptyResponse = "empty_response";

    public string Name => SampleKinds.Instruction;

    public int EstimatedCalls(SeedTask task) => context.EvolTemplate is null ? 1 : 2;

    public async Task<RecipeResult> RunAsync(SeedTask task, string sampleId, int index, CancellationToken cancellationToken)
    {
        var builder = new SampleBuilder(context, sampleId, index, task);
        return await builder.GuardAsync(Name, async trace =>
        {
            var instruction = task.Input;
            if (context.EvolTemplate is { } evol)
            {
                var evolPrompt = await builder.RenderAsync(evol, instruction, cancellationToken).ConfigureAwait(false);
                var evolved = await builder.CallAsync(evol, evolPrompt.TeacherMessages, null, 100, cancellationToken).ConfigureAwait(false);
                instruction = evolved.Content?.Trim().Trim('"') ?? "";
                if (instruction.Length == 0) throw new SampleRejectedException(EmptyResponse);
            }
            var rendered = await builder.RenderAsync(context.Template, instruction, cancellationToken).ConfigureAwait(false);
            trace.AddRange(rendered.StudentMessages);
            var response = await builder.CallAsync(context.Template, rendered.TeacherMessages, null, 0, cancellationToken).ConfigureAwait(false);
            if (string.IsNullOrWhiteSpace(response.Content)) throw new SampleRejectedException(EmptyResponse);
            var messages = rendered.StudentMessages.Append(ChatMessage.Assistant(response.Content, reasoning: response.Reasoning, logprobs: response.Logprobs, logprobProvenance: response.LogprobProvenance)).ToList();
            var sample = builder.Build(Name, messages, rendered.PrivilegedContextUsed) with
            {
                Answer = response.Content,
            };
            return new RecipeResult(sample, null);
        }).ConfigureAwait(false);
    }
}
