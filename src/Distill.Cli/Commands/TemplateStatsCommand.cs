using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Distill.Data;
using Distill.Evaluation.Curation;
using Spectre.Console;

namespace Distill.Cli.Commands;

/// <summary>`distill templates stats [--data DIR ...] [--runs DIR ...] [--json]`: what each template version produced, and what students trained on it scored.</summary>
public static class TemplateStatsCommand
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var data = new Option<string[]>("--data") { Description = "Dataset folders, or folders holding them (repeatable; default Paths:Datasets). Evaluation trajectories are left out." };
        var runs = new Option<string[]>("--runs") { Description = "Folders searched for evaluation.json files whose models carry run lineage (repeatable; default Paths:Runs)." };
        var json = new Option<bool>("--json") { Description = "Print every number as JSON (for scripts) instead of the table." };
        var nearDup = new Option<double>("--near-dup-threshold") { Description = "Jaccard similarity at which a row counts as a near-duplicate.", DefaultValueFactory = _ => 0.85 };
        var command = new Command("stats", "Per template version: yield, reject reasons, verification, duplicates, diversity, length, tool-call validity, cost, and the held-out score of students trained on it.")
        {
            data, runs, json, nearDup,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var cli = context(parse);
            var dataRoots = parse.GetValue(data) is { Length: > 0 } d ? d : [cli.Options.Paths.Datasets];
            var runRoots = parse.GetValue(runs) is { Length: > 0 } r ? r : [cli.Options.Paths.Runs];
            var datasets = DatasetFolders.Find(dataRoots);
            if (datasets.Count == 0)
                throw new Distill.Core.Errors.DistillException($"no dataset folders in {string.Join(", ", dataRoots)}", "generate one with `distill generate`, or pass --data <folder>");
            var stats = await TemplateStatsReader.ReadAsync(datasets, runRoots, parse.GetValue(nearDup), cancellationToken);
            if (parse.GetValue(json))
            {
                cli.Console.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(stats, Json));
                return DistillApp.Success;
            }
            cli.Console.Write(Table(stats));
            cli.Console.WriteLine($"{datasets.Count} dataset(s): {string.Join(", ", datasets.Select(Path.GetFileName))}");
            return DistillApp.Success;
        });
        return command;
    }

    /// <summary>One column per template version, one row per metric (versions are few, metrics many).</summary>
    public static Table Table(IReadOnlyList<TemplateVersionStats> stats)
    {
        var table = new Table().AddColumn("metric");
        foreach (var s in stats) table.AddColumn(new TableColumn(Markup.Escape(s.Key)).RightAligned());
        void Row(string name, Func<TemplateVersionStats, string> value) => table.AddRow([Markup.Escape(name), .. stats.Select(s => Markup.Escape(value(s)))]);
        Row("attempted", s => Inv($"{s.Attempted}"));
        Row("accepted", s => Inv($"{s.Accepted} ({Pct(s.AcceptanceRate)})"));
        Row("rejects by reason", s => s.RejectsByReason.Count == 0 ? "-" : string.Join(", ", s.RejectsByReason.Select(r => Inv($"{r.Key} {r.Value}"))));
        Row("verification pass rate", s => s.VerificationPassRate is { } v ? Inv($"{Pct(v)} of {s.VerificationChecked}") : "-");
        Row("self-consistency agreement", s => s.SelfConsistencyAgreement is { } a ? Inv($"{Pct(a)} ({s.SelfConsistencyRows} rows)") : "-");
        Row("exact / near duplicates", s => $"{Pct(s.ExactDuplicateRate)} / {Pct(s.NearDuplicateRate)}");
        Row("distinct-1 / distinct-2", s => Inv($"{s.Distinct1:0.000} / {s.Distinct2:0.000}"));
        Row("self-similarity (trigram Jaccard)", s => Inv($"{s.SelfSimilarity:0.000}"));
        Row("assistant words p10 / p50 / p90", s => s.AssistantWords.Count == 0 ? "-" : Inv($"{s.AssistantWords.P10} / {s.AssistantWords.P50} / {s.AssistantWords.P90}"));
        Row("valid tool calls", s => s.ToolCallValidity is { } v ? Inv($"{Pct(v)} of {s.ToolCalls}") : "-");
        Row("tokens per accepted", s => s.TokensPerAccepted is { } t ? Inv($"{t:N0}") : "-");
        Row("cost per accepted", s => s.CostPerAccepted is { } c ? Inv($"${c:0.000000}") : "-");
        Row("verified per dollar", s => s.VerifiedPerDollar is { } v ? Inv($"{v:N1}") : "-");
        Row("students (held-out success)", s => s.Students.Count == 0 ? "-" : string.Join(", ", s.Students.Select(x => Inv($"{x.Model} {Pct(x.SuccessRate)} of {x.Tasks}"))));
        return table;
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string Pct(double x) => (x * 100).ToString("0.0", CultureInfo.InvariantCulture) + " %";
}
