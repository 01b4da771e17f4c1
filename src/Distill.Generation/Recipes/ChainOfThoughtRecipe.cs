using System.Text.RegularExpressions;
using Distill.Core.Samples;

namespace Distill.Generation.Recipes;

/// <summary>
/// cot (distilling step-by-step): the teacher reasons, then puts the final answer in the template's answer tag. The answer and
/// the rationale (the text before the tag, or the teacher's separate reasoning) go to their own columns. Verified against the
/// task's ground truth when it has one; otherwise <see cref="RecipeContext.SelfConsistency"/> samples are drawn, the majority
/// answer is kept and the agreement is the score.
/// </summary>
public sealed class ChainOfThoughtRecipe(RecipeContext context) : IRecipe
{
    public const string NoAnswer = "no_answer";

    public string Name => SampleKinds.ChainOfThought;

    public int EstimatedCalls(SeedTask task) => task.HasGroundTruth ? 1 : Math.Max(1, context.SelfConsistency);

    public async Task<RecipeResult> RunAsync(SeedTask task, string sampleId, int index, CancellationToken cancellationToken)
    {
        var builder = new SampleBuilder(context, sampleId, index, task);
        return await builder.GuardAsync(Name, async trace =>
        {
            var rendered = await builder.RenderAsync(context.Template, task.Input, cancellationToken).ConfigureAwait(false);
            trace.AddRange(rendered.StudentMessages);
            var tag = context.Template.Output.AnswerTag ?? "answer";
            var candidates = new List<(string Answer, string Rationale, Distill.Teachers.TeacherResponse Response)>();
            var draws = EstimatedCalls(task);
            for (var k = 0; k < draws; k++)
            {
                var response = await builder.CallAsync(context.Template, rendered.TeacherMessages, null, k, cancellationToken).ConfigureAwait(false);
                if (Parse(response.Content ?? "", tag) is { } parsed)
                {
                    candidates.Add((parsed.Answer, string.IsNullOrWhiteSpace(parsed.Rationale) ? response.Reasoning ?? "" : parsed.Rationale, response));
                }
            }
            if (candidates.Count == 0)
            {
                throw new SampleRejectedException(NoAnswer);
            }

            bool? verified;
            double score;
            string verifier;
            var kept = candidates[0];
            if (task.HasGroundTruth)
            {
                verifier = AnswerMatcher.GroundTruth;
                verified = (task.ExpectedAnswer is { } expected
                    ? AnswerMatcher.Matches(kept.Answer, expected)
                    : task.ExpectedFacts!.All(f => FactMatcher.Satisfies(kept.Answer, f) || FactMatcher.Satisfies(kept.Rationale, f)))
                    && !(task.ForbiddenFacts ?? []).Any(f => FactMatcher.States(kept.Answer, f));
                score = verified.Value ? 1 : 0;
            }
            else
            {
                verifier = AnswerMatcher.SelfConsistency;
                var majority = candidates.GroupBy(c => AnswerMatcher.Normalize(c.Answer)).OrderByDescending(g => g.Count()).First();
                kept = majority.First();
                score = (double)majority.Count() / draws;
                verified = score > 0.5;
            }
            var messages = rendered.StudentMessages.Append(ChatMessage.Assistant(kept.Response.Content, reasoning: kept.Response.Reasoning, logprobs: kept.Response.Logprobs, logprobProvenance: kept.Response.LogprobProvenance)).ToList();
            var sample = builder.Build(Name, messages, rendered.PrivilegedContextUsed) with
            {
                Answer = kept.Answer,
                Rationale = kept.Rationale,
                Verified = verified,
                Verifier = verifier,
                Score = score,
            };
            return new RecipeResult(sample, null);
        }).ConfigureAwait(false);
    }

    /// <summary>The last <c>&lt;tag&gt;...&lt;/tag&gt;</c> and the text before it; null when there is no tagged answer.</summary>
    public static (string Answer, string Rationale)? Parse(string content, string tag)
    {
        var matches = Regex.Matches(content, $"<{Regex.Escape(tag)}>(.*?)</{Regex.Escape(tag)}>", RegexOptions.Singleline | RegexOptions.IgnoreCase);
        if (matches.Count == 0) return null;
        var last = matches[^1];
        var answer = last.Groups[1].Value.Trim();
        return answer.Length == 0 ? null : (answer, content[..last.Index].Trim());
    }
}
