using Distill.Training.Metrics;

namespace Distill.Training.Reports;

/// <summary>PNG charts of a run with ScottPlot: loss (train and validation), KD vs CE terms, learning rate.</summary>
public static class Charts
{
    public static List<string> Write(string dir, IReadOnlyList<MetricsRecord> train, IReadOnlyList<MetricsRecord> eval)
    {
        Directory.CreateDirectory(dir);
        var written = new List<string>();
        if (train.Count == 0) return written;
        double[] Steps(IEnumerable<MetricsRecord> rs) => rs.Select(r => (double)r.Step).ToArray();

        var loss = new ScottPlot.Plot();
        Line(loss, Steps(train), train.Select(r => r["loss"] ?? double.NaN).ToArray(), "train loss");
        if (eval.Count > 0) Line(loss, Steps(eval), eval.Select(r => r["val_loss"] ?? double.NaN).ToArray(), "validation CE");
        written.Add(Save(loss, dir, "loss.png", "Loss", "loss"));

        if (train.Any(r => r["kd"] is not null))
        {
            var terms = new ScottPlot.Plot();
            Line(terms, Steps(train), train.Select(r => r["ce"] ?? double.NaN).ToArray(), "CE (hard labels)");
            Line(terms, Steps(train), train.Select(r => r["kd"] ?? double.NaN).ToArray(), "KD");
            written.Add(Save(terms, dir, "kd_vs_ce.png", "KD vs CE terms", "loss term"));
        }

        var lr = new ScottPlot.Plot();
        Line(lr, Steps(train), train.Select(r => r["lr"] ?? double.NaN).ToArray(), "learning rate");
        written.Add(Save(lr, dir, "lr.png", "Learning rate", "lr"));
        return written;
    }

    static void Line(ScottPlot.Plot plot, double[] xs, double[] ys, string label)
    {
        var scatter = plot.Add.Scatter(xs, ys);
        scatter.LegendText = label;
        scatter.MarkerSize = 0;
    }

    static string Save(ScottPlot.Plot plot, string dir, string file, string title, string yLabel)
    {
        plot.Title(title);
        plot.XLabel("step");
        plot.YLabel(yLabel);
        plot.ShowLegend();
        var path = Path.Combine(dir, file);
        plot.SavePng(path, 800, 450);
        return path;
    }
}
