using System.Text.Json;
using Distill.Core.Samples;
using Distill.Generation.Recipes;
using Distill.Generation.Templates;
using Distill.Teachers;

namespace Distill.Generation.Quality;

/// <summary>A judge's verdict: the 1-10 score and its one-sentence reason.</summary>
public sealed record JudgeVerdict(int Score, string Reason);

/// <summary>
/// LLM-as-judge with a judge template (judge-score): scores a sample's final answer against the task's reference (expected
/// answer or facts, when known). Returns the verdict, or the reject reason when the judge failed.
/// </summary>
public sealed class LlmJudge(TemplateDefinition template, ITeacher teacher, TemplateRenderer? renderer = null)
{
    public const string Name = "llm_judge";
    public const string Unparsable = "judge_unparsable";
    public const string LowScore = "low_judge_score";

    private readonly TemplateRenderer _renderer = renderer ?? new TemplateRenderer();

    public async Task<(JudgeVerdict? Verdict, string? RejectReason)> ScoreAsync(Sample sample, SeedTask task, CancellationToken ct)
    {
        var response = sample.Messages.LastOrDefault(m => m.Role == ChatRoles.Assistant)?.Content ?? "";
        var reference = task.ExpectedAnswer ?? (task.ExpectedFacts is { Count: > 0 } facts ? "It must state: " + string.Join("; ", facts) : null);
        var values = new Dictionary<string, object?>(StringComparer.Ordinal) { ["instruction"] = task.Input, ["response"] = response };
        if (reference is not null) values["reference"] = reference;
        var prompt = await _renderer.RenderAsync(template, values, ct).ConfigureAwait(false);
        var p = template.Parameters;
        TeacherResponse answer;
        try
        {
            answer = await teacher.CompleteAsync(new TeacherRequest
            {
                Messages = prompt.TeacherMessages,
                Temperature = p.Temperature is { } t ? (float)t : null,
                TopP = p.TopP is { } tp ? (float)tp : null,
                MaxTokens = p.MaxTokens,
                Seed = p.Seed,
            }, ct).ConfigureAwait(false);
        }
        catch (TeacherException e) when (!e.IsFatal)
        {
            return (null, e.RejectReason);
        }
        if (answer.RejectReason is { } reason) return (null, reason);
        return Parse(answer.Content) is { } verdict ? (verdict, null) : (null, Unparsable);
    }

    /// <summary>The first JSON object in the text (code fences allowed) with an integer score 1-10; null otherwise.</summary>
    public static JudgeVerdict? Parse(string? content)
    {
        if (content is null) return null;
        var start = content.IndexOf('{', StringComparison.Ordinal);
        var end = content.LastIndexOf('}');
        if (start < 0 || end <= start) return null;
        try
        {
            using var doc = JsonDocument.Parse(content[start..(end + 1)]);
            var root = doc.RootElement;
            if (!root.TryGetProperty("score", out var s) || s.ValueKind != JsonValueKind.Number || !s.TryGetInt32(out var score) || score is < 1 or > 10) return null;
            var why = root.TryGetProperty("reason", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() ?? "" : "";
            return new JudgeVerdict(score, why);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
