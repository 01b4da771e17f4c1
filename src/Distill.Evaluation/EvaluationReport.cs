using System.Globalization;
using System.Text;
using System.Text.Json;
using Distill.Evaluation.Statistics;

namespace Distill.Evaluation;

/// <summary>
/// The comparison a person reads: evaluation.json (every number, every task's outcome), comparisons.json (the paired tests the
/// caller asked for), report.md (tables with Wilson 95 % intervals, pass@k, McNemar lines, what each metric means, where the
/// trajectories are) and PNG charts (success by model, success by each breakdown tag, with interval whiskers) with ScottPlot.
/// </summary>
public static class EvaluationReport
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <param name="comparisons">Pairs of model names (baseline, candidate) to test against each other with McNemar, e.g.
    /// ("baseline", "student-kd"); both must be among <paramref name="results"/>.</param>
    /// <returns>The report's path.</returns>
    public static string Write(string dir, IReadOnlyList<ModelEvaluation> results, string title, IReadOnlyList<string> notes,
        IReadOnlyList<(string Baseline, string Candidate)>? comparisons = null)
    {
        var paired = PairedComparison.Of(results, comparisons ?? []);
        Directory.CreateDirectory(dir);
        var charts = Path.Combine(dir, "charts");
        Directory.CreateDirectory(charts);
        File.WriteAllText(Path.Combine(dir, "evaluation.json"), JsonSerializer.Serialize(results, Json));
        if (paired.Count > 0) File.WriteAllText(Path.Combine(dir, "comparisons.json"), JsonSerializer.Serialize(paired, Json));
        SuccessByModel(results, Path.Combine(charts, "success_by_model.png"));
        var tags = results.SelectMany(r => r.ByTag.Select(g => g.Tag)).Distinct(StringComparer.Ordinal).ToList();
        foreach (var tag in tags) SuccessByTag(results, tag, Path.Combine(charts, $"success_by_{tag}.png"));

        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# {title}").AppendLine();
        foreach (var note in notes) md.AppendLine(note);
        if (notes.Count > 0) md.AppendLine();
        md.AppendLine("| model | tasks | task success [95 % interval] | mean score | valid tool calls | rejected | completion tokens / task | ms / call |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Model} | {r.Tasks} | {Pct(r.SuccessRate)} ({r.Succeeded}) {Range(r.SuccessInterval)} | {Num(r.MeanScore, "0.00")} | {(r.ToolCalls == 0 ? "-" : Pct(r.ToolCallValidity))} of {r.ToolCalls} | {r.RejectedCount} | {Num(r.MeanCompletionTokens)} | {Num(r.MeanCallLatencyMs)} |");
        }
        md.AppendLine().AppendLine("![task success by model](charts/success_by_model.png)").AppendLine();

        foreach (var tag in tags) ByTagTable(md, results, tag);
        PassAtKTable(md, results);
        PairedLines(md, paired);

        LineageLines(md, results);
        md.AppendLine("## Why tasks failed").AppendLine();
        foreach (var r in results)
        {
            var reasons = r.Rejected.OrderByDescending(x => x.Value).Select(x => $"{x.Key} {x.Value}");
            var unverified = r.Tasks - r.RejectedCount - r.Succeeded;
            md.AppendLine(CultureInfo.InvariantCulture,
                $"- **{r.Model}**: {unverified} answered but wrong (a tool call, an argument or a fact in the answer missed, or a forbidden fact stated){(r.RejectedCount > 0 ? "; rejected: " + string.Join(", ", reasons) : "")}. Trajectories: `{r.Dataset}` (`distill dataset inspect <dir> --rejects`).");
        }
        md.AppendLine().AppendLine("## What the numbers mean").AppendLine();
        md.AppendLine("- **task success**: the greedy trajectory made the expected tool calls in order with exactly the expected arguments, and the final answer states every expected fact and no forbidden one (the `world_trajectory` verifier, the same one generation uses). Facts are read as statements: \"not eligible\" never counts as \"eligible\", amounts and dates are compared by value.");
        md.AppendLine("- **[95 % interval]**: the Wilson score interval of the success rate: with this many tasks, the true rate lies in it with 95 % confidence. Two models whose intervals overlap widely may not differ at all; the paired test says whether they do.");
        md.AppendLine("- **mean score**: share of those checks passed, averaged over tasks (rejected tasks count 0): partial credit.");
        md.AppendLine("- **valid tool calls**: calls whose arguments matched the tool's JSON schema and executed without error.");
        md.AppendLine("- **rejected**: the agent loop gave up: `invalid_tool_arguments` / `unknown_tool` (twice), `malformed_tool_call`, `step_limit`, `truncated` (hit max_tokens), `empty_answer`.");
        md.AppendLine("- **ms / call**: wall time of one chat-completion call as the client saw it (includes queueing behind concurrent calls).");
        if (results.Any(r => r.Sampling is not null))
            md.AppendLine("- **pass@k**: the chance that at least one of k sampled attempts solves a task, from n attempts per task by the unbiased estimator 1 - C(n-c, k) / C(n, k) (Chen et al. 2021), averaged over tasks. pass@1 sampled is the expected success of one sampled attempt; greedy is the table above.");
        if (paired.Count > 0)
            md.AppendLine("- **McNemar**: on the tasks both models answered, only the tasks exactly one of them solved tell them apart; p is the exact two-sided binomial probability of a split at least this uneven if both were equally good.");
        var path = Path.Combine(dir, "report.md");
        File.WriteAllText(path, md.ToString());
        return path;
    }

    /// <summary>Which datasets and template versions each evaluated model was trained on (from its run's lineage.json).</summary>
    private static void LineageLines(StringBuilder md, IReadOnlyList<ModelEvaluation> results)
    {
        var traced = results.Where(r => r.Lineage is not null).ToList();
        if (traced.Count == 0) return;
        md.AppendLine("## Trained on").AppendLine();
        foreach (var r in traced) md.AppendLine(CultureInfo.InvariantCulture, $"- **{r.Model}**: {r.Lineage!.Summary()}");
        md.AppendLine();
    }

    private static string Pct(double x) => (x * 100).ToString("0.0", CultureInfo.InvariantCulture) + " %";

    private static string Num(double x, string format = "0.0") => x.ToString(format, CultureInfo.InvariantCulture);

    private static string Range(Interval i) => string.Create(CultureInfo.InvariantCulture, $"[{i.Low * 100:0.0}, {i.High * 100:0.0}]");

    private static List<string> ValuesOf(IReadOnlyList<ModelEvaluation> results, string tag) =>
        results.SelectMany(r => r.ByTag.Where(g => g.Tag == tag).Select(g => g.Value)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

    private static void ByTagTable(StringBuilder md, IReadOnlyList<ModelEvaluation> results, string tag)
    {
        var values = ValuesOf(results, tag);
        md.AppendLine(CultureInfo.InvariantCulture, $"## Task success by {tag}").AppendLine();
        md.AppendLine("| model | " + string.Join(" | ", values) + " |");
        md.AppendLine("|---|" + string.Concat(values.Select(_ => "---:|")));
        foreach (var r in results)
        {
            var cells = values.Select(v => r.ByTag.FirstOrDefault(g => g.Tag == tag && g.Value == v) is { } g
                ? $"{Pct(g.SuccessRate)} of {g.Tasks} {Range(g.SuccessInterval)}"
                : "-");
            md.AppendLine(CultureInfo.InvariantCulture, $"| {r.Model} | {string.Join(" | ", cells)} |");
        }
        md.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"![task success by {tag}](charts/success_by_{tag}.png)").AppendLine();
    }

    private static void PassAtKTable(StringBuilder md, IReadOnlyList<ModelEvaluation> results)
    {
        var sampled = results.Where(r => r.Sampling is not null).ToList();
        if (sampled.Count == 0) return;
        var ks = sampled.SelectMany(r => r.Sampling!.PassAtK.Keys).Distinct().Order().ToList();
        md.AppendLine("## Sampling: pass@k").AppendLine();
        md.AppendLine("| model | samples / task | temperature | pass@1 greedy | " + string.Join(" | ", ks.Select(k => $"pass@{k} sampled")) + " |");
        md.AppendLine("|---|---:|---:|---:|" + string.Concat(ks.Select(_ => "---:|")));
        foreach (var r in sampled)
        {
            var s = r.Sampling!;
            var cells = ks.Select(k => s.PassAtK.TryGetValue(k, out var v) ? Pct(v) : "-");
            md.AppendLine(CultureInfo.InvariantCulture, $"| {r.Model} | {s.Samples} | {Num(s.Temperature, "0.0#")} | {Pct(r.SuccessRate)} | {string.Join(" | ", cells)} |");
        }
        md.AppendLine();
    }

    private static void PairedLines(StringBuilder md, IReadOnlyList<PairedComparison> paired)
    {
        if (paired.Count == 0) return;
        md.AppendLine("## Paired comparisons (exact McNemar test)").AppendLine();
        foreach (var p in paired)
        {
            var t = p.Test;
            var verdict = t.Discordant == 0
                ? "no task tells them apart"
                : p.Significant
                    ? $"{(t.OnlyCandidate > t.OnlyBaseline ? p.Candidate : p.Baseline)} is better at the {Num(PairedComparison.Alpha * 100, "0")} % level"
                    : $"the difference is not significant at the {Num(PairedComparison.Alpha * 100, "0")} % level";
            md.AppendLine(CultureInfo.InvariantCulture,
                $"- **{p.Candidate} vs {p.Baseline}** on {t.Tasks} shared tasks: {p.Candidate} alone solved {t.OnlyCandidate}, {p.Baseline} alone {t.OnlyBaseline} (both {t.Both}, neither {t.Neither}); p = {Num(t.P, "0.0000")}: {verdict}.");
        }
        md.AppendLine();
    }

    private static void SuccessByModel(IReadOnlyList<ModelEvaluation> results, string path)
    {
        var plot = new ScottPlot.Plot();
        var bars = results.Select((r, i) => Bar(i, r.SuccessRate, plot.Add.Palette.GetColor(0))).ToList();
        foreach (var bar in bars) bar.Label = bar.Value.ToString("0.0", CultureInfo.InvariantCulture) + " %";
        var plottable = plot.Add.Bars(bars);
        plottable.ValueLabelStyle.FontSize = 14;
        Whiskers(plot, results.Select((r, i) => ((double)i, r.SuccessRate, r.SuccessInterval)).ToList());
        plot.Axes.Bottom.SetTicks(results.Select((_, i) => (double)i).ToArray(), results.Select(r => r.Model).ToArray());
        plot.Axes.SetLimitsY(0, 105);
        plot.Title("Held-out task success (whiskers: Wilson 95 % interval)");
        plot.YLabel("tasks solved (%)");
        plot.SavePng(path, 800, 450);
    }

    private static void SuccessByTag(IReadOnlyList<ModelEvaluation> results, string tag, string path)
    {
        var values = ValuesOf(results, tag);
        var plot = new ScottPlot.Plot();
        var groupWidth = results.Count + 1;
        for (var m = 0; m < results.Count; m++)
        {
            var color = plot.Add.Palette.GetColor(m);
            var groups = values.Select((v, k) => (Position: (double)(k * groupWidth + m), Group: results[m].ByTag.FirstOrDefault(g => g.Tag == tag && g.Value == v)))
                .Where(x => x.Group is not null).ToList();
            plot.Add.Bars(groups.Select(x => Bar(x.Position, x.Group!.SuccessRate, color)).ToList()).LegendText = results[m].Model;
            Whiskers(plot, groups.Select(x => (x.Position, x.Group!.SuccessRate, x.Group.SuccessInterval)).ToList());
        }
        plot.Axes.Bottom.SetTicks(values.Select((_, k) => k * groupWidth + (results.Count - 1) / 2.0).ToArray(), values.ToArray());
        plot.Axes.SetLimitsY(0, 105);
        plot.ShowLegend();
        plot.Title($"Held-out task success by {tag} (whiskers: Wilson 95 % interval)");
        plot.YLabel("tasks solved (%)");
        plot.SavePng(path, 900, 450);
    }

    private static ScottPlot.Bar Bar(double position, double rate, ScottPlot.Color color) => new()
    {
        Position = position,
        Value = rate * 100,
        FillColor = color,
    };

    /// <summary>Asymmetric whiskers (Wilson intervals are not centred on the rate) over bars at the given positions.</summary>
    private static void Whiskers(ScottPlot.Plot plot, IReadOnlyList<(double Position, double Rate, Interval Interval)> bars)
    {
        if (bars.Count == 0) return;
        var whiskers = plot.Add.ErrorBar(bars.Select(b => b.Position).ToList(), bars.Select(b => b.Rate * 100).ToList(), bars.Select(_ => 0.0).ToList());
        whiskers.YErrorNegative = bars.Select(b => (b.Rate - b.Interval.Low) * 100).ToList();
        whiskers.YErrorPositive = bars.Select(b => (b.Interval.High - b.Rate) * 100).ToList();
        whiskers.Color = ScottPlot.Colors.Black;
    }
}
