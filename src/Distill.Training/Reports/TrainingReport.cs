using System.Globalization;
using System.Text;
using Distill.Data.Lineage;
using Distill.Training.Config;
using Distill.Training.Metrics;
using Distill.Training.Trainer;

namespace Distill.Training.Reports;

/// <summary>charts/*.png (ScottPlot) and a short report.md in the run folder, from metrics.jsonl.</summary>
public static class TrainingReport
{
    public const string FileName = "report.md";

    public static void Write(string runDir, TrainConfig cfg, TrainerParts parts, TrainResult result)
    {
        var records = MetricsLog.Read(Path.Combine(runDir, MetricsLog.FileName));
        var train = records.Where(r => r.Kind == "train").ToList();
        var eval = records.Where(r => r.Kind == "eval").ToList();
        var charts = new List<string>();
        string? chartError = null;
        try
        {
            charts = Charts.Write(Path.Combine(runDir, "charts"), train, eval);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            chartError = $"{e.GetType().Name}: {e.Message}";
        }

        var inv = CultureInfo.InvariantCulture;
        var s = new StringBuilder();
        s.AppendLine($"# Training run: {cfg.Name}").AppendLine();
        s.AppendLine("| | |").AppendLine("|---|---|");
        s.AppendLine($"| student | {(cfg.Student.Preset is { } p ? $"preset {p}" : cfg.Student.Model)}{(cfg.Lora is { } l ? $" + LoRA r={l.Rank} alpha={l.Alpha.ToString(inv)} on {string.Join(", ", l.TargetModules)}" : "")} |");
        s.AppendLine(inv, $"| parameters | {parts.Student.ParameterCount:N0} ({parts.Optimizer.Parameters.Sum(x => x.numel()):N0} trained) |");
        if (cfg.Teacher is not null) s.AppendLine($"| teacher | {cfg.Teacher} |");
        s.AppendLine($"| loss | {ConfigNames.Of(cfg.Loss.Kind)}{(parts.Objective.HasKdTerm ? $" ({ConfigNames.Of(cfg.Loss.Divergence)}, alpha {cfg.Loss.Alpha.Start.ToString(inv)}→{(cfg.Loss.Alpha.End ?? cfg.Loss.Alpha.Start).ToString(inv)}, T {cfg.Loss.Temperature.Start.ToString(inv)})" : "")} |");
        s.AppendLine($"| data | {string.Join(", ", cfg.Datasets)}: {parts.DataStatistics.Samples} samples, {parts.DataStatistics.TrainExamples} train / {parts.DataStatistics.ValidationExamples} validation examples |");
        if (RunLineage.TryLoad(runDir) is { } lineage) s.AppendLine($"| lineage | {lineage.Summary()} |");
        s.AppendLine(inv, $"| steps | {result.Steps} of {cfg.Steps} ({result.StopReason}); batch {cfg.Batch.Size} x {cfg.Data.MaxLength} tokens x {cfg.Batch.GradAccum} accumulation |");
        s.AppendLine(inv, $"| final train loss | {(train.Count > 0 ? train[^1]["loss"]?.ToString("F4", inv) : "-")} (first {(train.Count > 0 ? train[0]["loss"]?.ToString("F4", inv) : "-")}) |");
        s.AppendLine(inv, $"| best validation loss (CE) | {(result.BestValLoss is { } b ? b.ToString("F4", inv) : "-")} |");
        s.AppendLine(inv, $"| throughput | {result.TokensPerSecond:N0} tokens/s, MFU {result.Mfu * 100:F2}% of a measured {parts.PeakFlops / 1e9:F1} GFLOP/s matmul peak on {parts.Device} |");
        s.AppendLine();
        foreach (var chart in charts) s.AppendLine($"![{Path.GetFileNameWithoutExtension(chart)}](charts/{Path.GetFileName(chart)})").AppendLine();
        if (chartError is not null) s.AppendLine($"Charts could not be drawn: {chartError}").AppendLine();
        s.AppendLine("Files: `config.json` + `model.safetensors` + `tokenizer.json` (or `adapter_config.json` + `adapter_model.safetensors` for LoRA), `metrics.jsonl`, `checkpoint/` (exact resume state), `train_config.json`, `lineage.json` (datasets, shards and template versions the examples came from).");
        File.WriteAllText(Path.Combine(runDir, FileName), s.ToString());
    }
}
