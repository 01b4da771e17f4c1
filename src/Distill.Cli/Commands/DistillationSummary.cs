using System.Globalization;
using Distill.Evaluation;
using Distill.Evaluation.Statistics;

namespace Distill.Cli.Commands;

/// <summary>
/// The question a distillation run answers, as report lines: how much of the gap between a no-teacher baseline and the teacher
/// each student closes, overall and per tier: (student - baseline) / (teacher - baseline).
/// </summary>
public static class DistillationSummary
{
    public static IReadOnlyList<string> Lines(IReadOnlyList<ModelEvaluation> results, string teacher, string baseline, IReadOnlyList<string> students)
    {
        var byName = results.ToDictionary(r => r.Model, StringComparer.Ordinal);
        if (!byName.TryGetValue(teacher, out var t) || !byName.TryGetValue(baseline, out var b)) return [];
        var tiers = t.ByTag.Where(g => g.Tag == ModelEvaluation.Tier).Select(g => g.Value).Order(StringComparer.Ordinal).ToList();
        var lines = new List<string>
        {
            "",
            "## Did distillation help?",
            "",
            $"Gap closure = (student - {baseline}) / ({teacher} - {baseline}) of the held-out success rate: 1 is as good as the teacher, 0 no better " +
            "than the no-teacher baseline of the same size; \"no gap\" where the teacher does not beat the baseline.",
            "",
            "| student | all tasks | " + string.Join(" | ", tiers) + " |",
            "|---|---|" + string.Concat(tiers.Select(_ => "---|")),
        };
        foreach (var name in students.Where(byName.ContainsKey))
        {
            var s = byName[name];
            var cells = tiers.Select(tier => Closure(Rate(b, tier), Rate(s, tier), Rate(t, tier)));
            lines.Add($"| {name} | {Closure(b.SuccessRate, s.SuccessRate, t.SuccessRate)} | {string.Join(" | ", cells)} |");
        }
        lines.Add("");
        foreach (var name in students.Where(byName.ContainsKey))
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"Gap closure {name}: {Closure(b.SuccessRate, byName[name].SuccessRate, t.SuccessRate)} ({baseline} {b.SuccessRate:P0}, {name} {byName[name].SuccessRate:P0}, {teacher} {t.SuccessRate:P0})"));
        }
        lines.Add("");
        return lines;
    }

    private static double Rate(ModelEvaluation model, string tier) =>
        model.ByTag.FirstOrDefault(g => g.Tag == ModelEvaluation.Tier && g.Value == tier)?.SuccessRate ?? 0;

    private static string Closure(double baseline, double student, double teacher) =>
        GapClosure.Of(baseline, student, teacher) is { } closure ? closure.ToString("P0", CultureInfo.InvariantCulture) : "no gap";
}
