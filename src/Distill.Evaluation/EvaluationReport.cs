using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Distill.Evaluation;

/// <summary>
/// The comparison a person reads: evaluation.json (every number), report.md (tables, charts, what each metric means, where the
/// trajectories are) and PNG charts (success by model, success by task kind) with ScottPlot.
/// </summary>
public static class EvaluationReport
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <returns>The report's path.</returns>
    public static string Write(string dir, IReadOnlyList<ModelEvaluation> results, string title, IReadOnlyList<string> notes)
    {
        Directory.CreateDirectory(dir);
        var charts = Path.Combine(dir, "charts");
        Directory.CreateDirectory(charts);
        File.WriteAllText(Path.Combine(dir, "evaluation.json"), JsonSerializer.Serialize(results, Json));
        SuccessByModel(results, Path.Combine(charts, "success_by_model.png"));
        SuccessByKind(results, Path.Combine(charts, "success_by_kind.png"));

        var md = new StringBuilder();
        string Pct(double x) => (x * 100).ToString("0.0", CultureInfo.InvariantCulture) + " %";
        string Num(double x, string format = "0.0") => x.ToString(format, CultureInfo.InvariantCulture);
        md.AppendLine(CultureInfo.InvariantCulture, $"# {title}").AppendLine();
        foreach (var note in notes) md.AppendLine(note);
        if (notes.Count > 0) md.AppendLine();
        md.AppendLine("| model | tasks | task success | mean score | valid tool calls | rejected | completion tokens / task | ms / call |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Model} | {r.Tasks} | {Pct(r.SuccessRate)} ({r.Succeeded}) | {Num(r.MeanScore, "0.00")} | {(r.ToolCalls == 0 ? "-" : Pct(r.ToolCallValidity))} of {r.ToolCalls} | {r.RejectedCount} | {Num(r.MeanCompletionTokens)} | {Num(r.MeanCallLatencyMs)} |");
        }
        md.AppendLine().AppendLine("![task success by model](charts/success_by_model.png)").AppendLine();

        var kinds = results.SelectMany(r => r.ByKind.Select(k => k.Kind)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        md.AppendLine("## Task success by kind").AppendLine();
        md.AppendLine("| model | " + string.Join(" | ", kinds) + " |");
        md.AppendLine("|---|" + string.Concat(kinds.Select(_ => "---:|")));
        foreach (var r in results)
        {
            var cells = kinds.Select(k => r.ByKind.FirstOrDefault(s => s.Kind == k) is { } s ? $"{Pct(s.SuccessRate)} of {s.Tasks}" : "-");
            md.AppendLine(CultureInfo.InvariantCulture, $"| {r.Model} | {string.Join(" | ", cells)} |");
        }
        md.AppendLine().AppendLine("![task success by kind](charts/success_by_kind.png)").AppendLine();

        md.AppendLine("## Why tasks failed").AppendLine();
        foreach (var r in results)
        {
            var reasons = r.Rejected.OrderByDescending(x => x.Value).Select(x => $"{x.Key} {x.Value}");
            var unverified = r.Tasks - r.RejectedCount - r.Succeeded;
            md.AppendLine(CultureInfo.InvariantCulture,
                $"- **{r.Model}**: {unverified} answered but wrong (a tool call, an argument or a fact in the answer missed){(r.RejectedCount > 0 ? "; rejected: " + string.Join(", ", reasons) : "")}. Trajectories: `{r.Dataset}` (`distill dataset inspect <dir> --rejects`).");
        }
        md.AppendLine().AppendLine("## What the numbers mean").AppendLine();
        md.AppendLine("- **task success**: the trajectory made the expected tool calls in order with the expected arguments and the final answer states every expected fact (the `world_trajectory` verifier, the same one generation uses).");
        md.AppendLine("- **mean score**: share of those checks passed, averaged over tasks (rejected tasks count 0): partial credit.");
        md.AppendLine("- **valid tool calls**: calls whose arguments matched the tool's JSON schema and executed without error.");
        md.AppendLine("- **rejected**: the agent loop gave up: `invalid_tool_arguments` / `unknown_tool` (twice), `malformed_tool_call`, `step_limit`, `truncated` (hit max_tokens), `empty_answer`.");
        md.AppendLine("- **ms / call**: wall time of one chat-completion call as the client saw it (includes queueing behind concurrent calls).");
        var path = Path.Combine(dir, "report.md");
        File.WriteAllText(path, md.ToString());
        return path;
    }

    private static void SuccessByModel(IReadOnlyList<ModelEvaluation> results, string path)
    {
        var plot = new ScottPlot.Plot();
        var positions = Enumerable.Range(0, results.Count).Select(i => (double)i).ToArray();
        var bars = plot.Add.Bars(positions, results.Select(r => r.SuccessRate * 100).ToArray());
        foreach (var bar in bars.Bars) bar.Label = bar.Value.ToString("0.0", CultureInfo.InvariantCulture) + " %";
        bars.ValueLabelStyle.FontSize = 14;
        plot.Axes.Bottom.SetTicks(positions, results.Select(r => r.Model).ToArray());
        plot.Axes.SetLimitsY(0, 105);
        plot.Title("Held-out task success");
        plot.YLabel("tasks solved (%)");
        plot.SavePng(path, 800, 450);
    }

    private static void SuccessByKind(IReadOnlyList<ModelEvaluation> results, string path)
    {
        var kinds = results.SelectMany(r => r.ByKind.Select(k => k.Kind)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var plot = new ScottPlot.Plot();
        var groupWidth = results.Count + 1;
        for (var m = 0; m < results.Count; m++)
        {
            var positions = kinds.Select((_, k) => (double)(k * groupWidth + m)).ToArray();
            var values = kinds.Select(k => (results[m].ByKind.FirstOrDefault(s => s.Kind == k)?.SuccessRate ?? 0) * 100).ToArray();
            var bars = plot.Add.Bars(positions, values);
            bars.LegendText = results[m].Model;
            bars.Color = plot.Add.Palette.GetColor(m);
        }
        plot.Axes.Bottom.SetTicks(kinds.Select((_, k) => k * groupWidth + (results.Count - 1) / 2.0).ToArray(), kinds.ToArray());
        plot.Axes.SetLimitsY(0, 105);
        plot.ShowLegend();
        plot.Title("Held-out task success by kind");
        plot.YLabel("tasks solved (%)");
        plot.SavePng(path, 900, 450);
    }
}
