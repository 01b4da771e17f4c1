using System.Globalization;
using System.Text;
using System.Text.Json;
using Distill.Evaluation.Statistics;

namespace Distill.Evaluation.Curation;

/// <summary>compare.md, compare.json and charts/compare.png of a <see cref="TemplateComparison"/>.</summary>
public static class TemplateComparisonReport
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <returns>The path of compare.md.</returns>
    public static string Write(string dir, TemplateComparison c, IReadOnlyList<string> notes)
    {
        Directory.CreateDirectory(Path.Combine(dir, "charts"));
        File.WriteAllText(Path.Combine(dir, "compare.json"), JsonSerializer.Serialize(c, Json));
        Chart(c, Path.Combine(dir, "charts", "compare.png"));
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# Template A/B: {c.A.Name} vs {c.B.Name}").AppendLine();
        foreach (var note in notes) md.AppendLine(note);
        md.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"**{c.Verdict}**").AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"| metric | A: {c.A.Name} | B: {c.B.Name} |").AppendLine("|---|---:|---:|");
        foreach (var m in c.Metrics) md.AppendLine(CultureInfo.InvariantCulture, $"| {m.Name} | {Cell(m.A, m.AInterval, m.IsRate)} | {Cell(m.B, m.BInterval, m.IsRate)} |");
        md.AppendLine().AppendLine("![A/B rates with Wilson 95 % intervals](charts/compare.png)").AppendLine();
        if (c.Students is { Count: 2 } students)
        {
            md.AppendLine("## Students trained on each arm's data").AppendLine();
            md.AppendLine("| student | held-out task success [95 % interval] | mean score |").AppendLine("|---|---:|---:|");
            foreach (var s in students) md.AppendLine(CultureInfo.InvariantCulture, $"| {s.Model} | {Cell(s.SuccessRate, s.SuccessInterval, true)} ({s.Succeeded} of {s.Tasks}) | {s.MeanScore:0.00} |");
            if (c.StudentTest is { } t)
                md.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"McNemar on {t.Tasks} held-out tasks: only A solved {t.OnlyBaseline}, only B solved {t.OnlyCandidate}, p = {t.P:0.###}.");
            md.AppendLine();
        }
        md.AppendLine("Rates carry Wilson 95 % intervals; verified samples per dollar scales the verified share's interval by tasks per dollar. " +
            "Both arms ran the same seed tasks with the same sampling seeds, so the McNemar test compares them task by task.");
        var path = Path.Combine(dir, "compare.md");
        File.WriteAllText(path, md.ToString());
        return path;
    }

    /// <summary>"42.0 % [30.1, 54.9]" for rates, "5.6 [4.0, 7.2]" for others with an interval, "-" when not measured.</summary>
    public static string Cell(double? value, Interval? interval, bool isRate)
    {
        if (value is not { } v) return "-";
        var scale = isRate ? 100 : 1;
        var unit = isRate ? " %" : "";
        var text = (v * scale).ToString(isRate ? "0.0" : "0.###", CultureInfo.InvariantCulture) + unit;
        return interval is { } i ? string.Create(CultureInfo.InvariantCulture, $"{text} [{i.Low * scale:0.#}, {i.High * scale:0.#}]") : text;
    }

    private static void Chart(TemplateComparison c, string path)
    {
        var rates = c.Metrics.Where(m => m.IsRate && m.A is not null && m.B is not null).ToList();
        var plot = new ScottPlot.Plot();
        for (var arm = 0; arm < 2; arm++)
        {
            var color = plot.Add.Palette.GetColor(arm);
            var bars = rates.Select((m, k) => (Position: k * 3.0 + arm, Value: (arm == 0 ? m.A : m.B)!.Value, Interval: (arm == 0 ? m.AInterval : m.BInterval)!)).ToList();
            plot.Add.Bars(bars.Select(b => new ScottPlot.Bar { Position = b.Position, Value = b.Value * 100, FillColor = color }).ToList()).LegendText = arm == 0 ? "A: " + c.A.Name : "B: " + c.B.Name;
            if (bars.Count == 0) continue;
            var whiskers = plot.Add.ErrorBar(bars.Select(b => b.Position).ToList(), bars.Select(b => b.Value * 100).ToList(), bars.Select(_ => 0.0).ToList());
            whiskers.YErrorNegative = bars.Select(b => (b.Value - b.Interval.Low) * 100).ToList();
            whiskers.YErrorPositive = bars.Select(b => (b.Interval.High - b.Value) * 100).ToList();
            whiskers.Color = ScottPlot.Colors.Black;
        }
        plot.Axes.Bottom.SetTicks(rates.Select((_, k) => k * 3.0 + 0.5).ToArray(), rates.Select(m => m.Name).ToArray());
        plot.Axes.SetLimitsY(0, 110);
        plot.ShowLegend();
        plot.Title("Template A/B (whiskers: Wilson 95 % interval)");
        plot.YLabel("%");
        plot.SavePng(path, 1000, 450);
    }
}
