using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Distill.Core.Errors;
using Distill.Data;
using Spectre.Console;

namespace Distill.Cli.Commands;

/// <summary>`distill dataset inspect|validate|stats|export|upgrade`.</summary>
public static class DatasetCommand
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var command = new Command("dataset", "Inspect, validate, summarise and export distillation datasets (manifest.json + Parquet shards).");
        command.Subcommands.Add(Inspect(context));
        command.Subcommands.Add(Validate(context));
        command.Subcommands.Add(Stats(context));
        command.Subcommands.Add(Export(context));
        command.Subcommands.Add(Upgrade(context));
        return command;
    }

    private static Argument<string> DatasetArgument() => new("dir") { Description = "The dataset folder (or, for inspect, a single .parquet file)." };

    private static Command Inspect(Func<ParseResult, CliContext> context)
    {
        var dir = DatasetArgument();
        var limit = new Option<int>("--limit", "-n") { Description = "How many samples to show.", DefaultValueFactory = _ => 3 };
        var id = new Option<string?>("--id") { Description = "Show the sample with this id (accepted or rejected)." };
        var rejects = new Option<bool>("--rejects") { Description = "Show rejected samples with their reasons instead." };
        var command = new Command("inspect", "Pretty-print samples: chat turns, reasoning, tool calls and results, lineage and quality.") { dir, limit, id, rejects };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var cli = context(parse);
            var path = parse.GetValue(dir)!;
            if (parse.GetValue(id) is { } wanted)
            {
                var found = await DatasetReader.Open(path).FindAsync(wanted, cancellationToken)
                    ?? throw new DistillException($"No sample with id '{wanted}' in '{path}'.", "List ids with `distill dataset inspect` or `export`.");
                Render(cli.Console, SampleText.ToView(found.Sample, found.RejectReason));
                return DistillApp.Success;
            }
            var shown = 0;
            if (parse.GetValue(rejects))
            {
                await foreach (var rejected in DatasetReader.Open(path).ReadRejectsAsync(cancellationToken))
                {
                    Render(cli.Console, SampleText.ToView(rejected.Sample, rejected.RejectReason));
                    if (++shown >= parse.GetValue(limit)) break;
                }
            }
            else
            {
                await foreach (var sample in DatasetReader.ReadAnyAsync(path, cancellationToken))
                {
                    Render(cli.Console, SampleText.ToView(sample));
                    if (++shown >= parse.GetValue(limit)) break;
                }
            }
            if (shown == 0)
            {
                cli.Console.MarkupLine("[yellow]No samples.[/]");
            }
            return DistillApp.Success;
        });
        return command;
    }

    private static Command Validate(Func<ParseResult, CliContext> context)
    {
        var dir = DatasetArgument();
        var command = new Command("validate", "Check schema, checksums, row counts, unique ids and tool-call JSON; lists every problem found.") { dir };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var cli = context(parse);
            var report = await DatasetValidator.ValidateAsync(parse.GetValue(dir)!, cancellationToken);
            if (report.Problems.Count > 0)
            {
                var table = new Table().RoundedBorder().AddColumn("severity").AddColumn("file").AddColumn("sample").AddColumn("problem");
                foreach (var problem in report.Problems)
                {
                    table.AddRow(problem.Severity == ProblemSeverity.Error ? "[red]error[/]" : "[yellow]warning[/]",
                        Markup.Escape(Path.GetFileName(problem.File)), Markup.Escape(problem.SampleId ?? ""), Markup.Escape(problem.Message));
                }
                cli.Console.Write(table);
            }
            var verdict = report.IsValid ? "[green]valid[/]" : "[red]invalid[/]";
            cli.Console.MarkupLine($"{verdict}: {report.FilesChecked} files, {report.RowsChecked} rows checked, {report.ErrorCount} errors, {report.WarningCount} warnings");
            return report.IsValid ? DistillApp.Success : DistillApp.UserError;
        });
        return command;
    }

    private static Command Stats(Func<ParseResult, CliContext> context)
    {
        var dir = DatasetArgument();
        var command = new Command("stats", "Counts by kind, template, teacher and verification; rejects by reason; token length histogram; cost.") { dir };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var cli = context(parse);
            var stats = await DatasetStatistics.ComputeAsync(DatasetReader.Open(parse.GetValue(dir)!), cancellationToken);
            var console = cli.Console;
            console.MarkupLine($"[bold]{stats.Accepted}[/] accepted, [bold]{stats.Rejected}[/] rejected; cost ${stats.TotalCostUsd:F4} in all, ${stats.CostPerAcceptedSample:F6} per accepted sample");
            Counts(console, "kind", stats.ByKind);
            Counts(console, "template@version", stats.ByTemplate);
            TeacherTable(console, stats, DatasetManifest.Load(parse.GetValue(dir)!).Config);
            Counts(console, "verification", stats.ByVerified);
            Counts(console, "reject reason", stats.RejectsByReason);
            var lp = stats.Logprobs;
            console.MarkupLine(lp.Tokens == 0
                ? "teacher logprobs: none (logit-level KD needs them; sequence-level KD does not)"
                : $"teacher logprobs: {lp.TurnsWithLogprobs} of {lp.AssistantTurns} assistant turns ({lp.ToolCallTurnsWithLogprobs} of " +
                  $"{lp.ToolCallTurns} tool-call turns) in {lp.SamplesWithLogprobs} samples, {lp.Tokens} tokens, top-{lp.MaxTopK}");
            if (lp.ByProvenance is { Count: > 0 } provenance)
            {
                Counts(console, "teacher: logprob provenance", provenance, "turns");
                if (provenance.Count > 1)
                    console.MarkupLine("[yellow]the stored logprobs mix teachers or settings: logit KD rescales what it can and refuses what it cannot (docs/training.md, \"Logit KD from stored logprobs\")[/]");
            }
            var histogram = new BarChart().Label($"tokens per sample (mean {stats.Tokens.Mean:F0}, min {stats.Tokens.Min}, max {stats.Tokens.Max}" +
                (stats.Tokens.Estimated > 0 ? $"; {stats.Tokens.Estimated} estimated from characters)" : ")")).Width(80);
            foreach (var bucket in stats.Tokens.Buckets.Where(b => b.Count > 0))
            {
                histogram.AddItem(bucket.To is { } to ? $"{bucket.From}-{to - 1}" : $"{bucket.From}+", bucket.Count, Color.Blue);
            }
            console.Write(histogram);
            return DistillApp.Success;
        });
        return command;
    }

    /// <summary>Samples and cost per teacher (a routed run mixes several), labelled with the configured names the manifest gives them.</summary>
    private static void TeacherTable(IAnsiConsole console, DatasetStats stats, JsonObject? config)
    {
        if (stats.CostByTeacher is not { Count: > 0 } byTeacher) return;
        var names = ConfiguredTeacherNames(config);
        var table = new Table().RoundedBorder().AddColumn("teacher").AddColumn(new TableColumn("accepted").RightAligned())
            .AddColumn(new TableColumn("rejected").RightAligned()).AddColumn(new TableColumn("cost").RightAligned())
            .AddColumn(new TableColumn("per accepted sample").RightAligned());
        foreach (var (key, t) in byTeacher)
        {
            table.AddRow(Markup.Escape(names.TryGetValue(key, out var name) ? $"{name} ({key})" : key),
                t.Accepted.ToString(CultureInfo.InvariantCulture), t.Rejected.ToString(CultureInfo.InvariantCulture),
                t.TotalCostUsd.ToString("$0.0000", CultureInfo.InvariantCulture), t.CostPerAcceptedSample.ToString("$0.000000", CultureInfo.InvariantCulture));
        }
        console.Write(table);
    }

    /// <summary><c>provider/model</c> -> the configured teacher name(s) of the generation config (<c>teacher</c>, or a routed run's <c>teachers</c>).</summary>
    private static Dictionary<string, string> ConfiguredTeacherNames(JsonObject? config)
    {
        var entries = new List<JsonObject>();
        if (config?["teachers"] is JsonArray list) entries.AddRange(list.OfType<JsonObject>());
        else if (config?["teacher"] is JsonObject one) entries.Add(one);
        return entries.Where(e => e["name"] is JsonValue)
            .GroupBy(e => $"{(string?)e["provider"]}/{(string?)e["model"]}", StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => string.Join(", ", g.Select(e => (string?)e["name"])), StringComparer.Ordinal);
    }

    private static void Counts(IAnsiConsole console, string title, IReadOnlyDictionary<string, long> counts, string unit = "samples")
    {
        if (counts.Count == 0) return;
        var table = new Table().RoundedBorder().AddColumn(title).AddColumn(new TableColumn(unit).RightAligned());
        foreach (var (key, count) in counts)
        {
            table.AddRow(Markup.Escape(key), count.ToString(CultureInfo.InvariantCulture));
        }
        console.Write(table);
    }

    private static Command Export(Func<ParseResult, CliContext> context)
    {
        var dir = DatasetArgument();
        var format = new Option<string>("--format") { Description = "jsonl (Hugging Face chat style) or parquet (one merged file).", DefaultValueFactory = _ => "jsonl" };
        var output = new Option<string>("--out", "-o") { Description = "Output file.", Required = true };
        var logprobs = new Option<bool>("--logprobs") { Description = "Include each assistant turn's teacher logprobs (messages[].logprobs) in JSONL (large)." };
        var curated = new Option<bool>("--curated") { Description = "Apply the curation decisions in <dir>/curation.jsonl (`distill studio`): rejected rows dropped, edited rows replaced, accepted rejects added." };
        var command = new Command("export", "Export accepted samples as HF-style chat JSONL or a single Parquet file.") { dir, format, output, logprobs, curated };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var cli = context(parse);
            var result = await DatasetExporter.ExportAsync(parse.GetValue(dir)!, parse.GetValue(output)!, DatasetExporter.ParseFormat(parse.GetValue(format)!),
                new ExportOptions { IncludeLogprobs = parse.GetValue(logprobs), Curated = parse.GetValue(curated) }, cancellationToken);
            cli.Console.MarkupLineInterpolated($"[green]Exported[/] {result.Rows} rows to {result.Path} ({result.Bytes / 1024.0:F1} KiB)");
            return DistillApp.Success;
        });
        return command;
    }

    private static Command Upgrade(Func<ParseResult, CliContext> context)
    {
        var dir = DatasetArgument();
        var precision = new Option<string>("--logprob-precision") { Description = "float16 (default; about 3 significant digits) or float32.", DefaultValueFactory = _ => "float16" };
        var command = new Command("upgrade", "Rewrite a dataset's older shards (schema versions 1-3) in the current compact layout (version 4); safe to kill and re-run.") { dir, precision };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var cli = context(parse);
            var chosen = parse.GetValue(precision)!.ToLowerInvariant() switch
            {
                "float16" => Distill.Data.Storage.LogprobPrecision.Float16,
                "float32" => Distill.Data.Storage.LogprobPrecision.Float32,
                var other => throw new DistillException($"Unknown --logprob-precision '{other}'.", "Use float16 or float32."),
            };
            var result = await DatasetUpgrade.UpgradeAsync(parse.GetValue(dir)!, chosen, ct: cancellationToken);
            if (result.Upgraded == 0)
                cli.Console.MarkupLineInterpolated($"[green]Nothing to upgrade[/]: {result.AlreadyCurrent} files already compact.");
            else
                cli.Console.MarkupLineInterpolated($"[green]Upgraded[/] {result.Upgraded} files ({result.BytesBefore / 1024.0:N0} KiB -> {result.BytesAfter / 1024.0:N0} KiB, {(double)result.BytesBefore / Math.Max(1, result.BytesAfter):F1}x smaller); {result.AlreadyCurrent} were already compact.");
            return DistillApp.Success;
        });
        return command;
    }

    private static void Render(IAnsiConsole console, SampleView view)
    {
        var rows = new List<Spectre.Console.Rendering.IRenderable>();
        foreach (var turn in view.Turns)
        {
            var color = turn.Role switch { "system" => "grey", "user" => "blue", "assistant" => "green", _ => "yellow" };
            var header = turn.Role == "tool" ? $"tool {turn.ToolName} ({turn.ToolCallId})" : turn.Role;
            rows.Add(new Markup($"[bold {color}]{Markup.Escape(header)}[/]"));
            if (turn.Reasoning is { Length: > 0 } reasoning)
            {
                rows.Add(new Markup($"  [italic grey]thinking: {Markup.Escape(reasoning)}[/]"));
            }
            if (turn.Content is { Length: > 0 } content)
            {
                rows.Add(new Text("  " + content));
            }
            foreach (var call in turn.ToolCalls)
            {
                var flag = call.ArgumentsAreValidJson ? "" : " [red](arguments are not valid JSON)[/]";
                rows.Add(new Markup($"  [yellow]→ {Markup.Escape(call.Name)}[/]({Markup.Escape(call.Arguments)}) [grey]{Markup.Escape(call.Id)}[/]{flag}"));
            }
            if (turn.Logprobs is { } turnLogprobs)
            {
                rows.Add(new Markup($"  [grey]{Markup.Escape(SampleText.Describe(turnLogprobs))}[/]"));
            }
        }
        if (view.Answer is not null)
        {
            rows.Add(new Markup($"[bold]answer:[/] {Markup.Escape(view.Answer)}"));
        }
        var facts = view.Lineage.Concat(view.Quality).Select(kv => $"{kv.Key}: {kv.Value}");
        rows.Add(new Markup($"[grey]{Markup.Escape(string.Join(" · ", facts))}[/]"));
        if (view.Logprobs is { } lp)
        {
            rows.Add(new Markup($"[grey]{Markup.Escape(SampleText.Describe(lp))}[/]"));
        }
        var title = $"{view.Id} [{view.Kind}]" + (view.RejectReason is null ? "" : $" rejected: {view.RejectReason}");
        console.Write(new Panel(new Rows(rows)).Header(Markup.Escape(title)).RoundedBorder().Expand());
    }
}
