using System.CommandLine;
using System.Globalization;
using System.Text;
using Distill.Evaluation;
using Distill.Evaluation.Statistics;
using Spectre.Console;

namespace Distill.Cli.Commands;

/// <summary>
/// `distill bench quality`: the quickstart's recipe over several seeds (each seed trains its own teacher and students), every
/// model evaluated on the same held-out tasks; per seed and on average: teacher per tier, baseline, KD student, gap closure, and
/// an exact McNemar test of the KD student against the baseline on the same tasks. Written to quality.md beside the runs.
/// </summary>
public static class QualityBenchmark
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var seeds = new Option<int>("--seeds") { Description = "Seeds to run (42, 43, ...).", DefaultValueFactory = _ => 3 };
        var output = new Option<string>("--out") { Description = "Folder for one quickstart run per seed and quality.md.", DefaultValueFactory = _ => "runs/bench-quality" };
        var evalTasks = new Option<int>("--eval-tasks") { Description = "Held-out tasks per model, cycling through the tiers (1000 gives 200 per tier but T4, which has 10).", DefaultValueFactory = _ => 1000 };
        var fast = new Option<bool>("--fast") { Description = "The quickstart's --fast sizes: checks the benchmark's plumbing in minutes." };
        var command = new Command("quality", "The quickstart's recipe over several seeds: teacher per tier, baseline, KD student, gap closure and McNemar per seed and on average.")
        {
            seeds, output, evalTasks, fast,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var cli = context(parse);
            var count = parse.GetValue(seeds);
            if (count < 1) throw new Core.Errors.DistillException($"--seeds must be at least 1, not {count}", "e.g. --seeds 3");
            var root = Path.GetFullPath(parse.GetValue(output)!);
            var defaults = parse.GetValue(fast) ? QuickstartPlan.Fast : QuickstartPlan.Full;
            var rows = new List<SeedResult>();
            for (var i = 0; i < count; i++)
            {
                var seed = 42 + i;
                cli.Console.MarkupLineInterpolated($"[bold]bench quality: seed {seed} ({i + 1} of {count})[/]");
                // Never the shipped teacher: the benchmark shows what the recipe itself reaches on this machine.
                var plan = defaults with { Out = Path.Combine(root, $"seed-{seed}"), Seed = seed, EvalTasks = parse.GetValue(evalTasks), UseShippedTeacher = false };
                plan.Validate();
                var run = await QuickstartCommand.RunAsync(cli, plan, cancellationToken);
                rows.Add(SeedResult.From(seed, run.Results));
            }
            var markdown = Markdown(rows);
            var path = Path.Combine(root, "quality.md");
            await File.WriteAllTextAsync(path, markdown, cancellationToken);
            cli.Console.WriteLine(markdown);
            cli.Console.WriteLine($"Written to {path}");
            return DistillApp.Success;
        });
        return command;
    }

    /// <summary>One seed's numbers: success rates by model, the teacher per tier, and the paired test of KD against the baseline.</summary>
    public sealed record SeedResult(int Seed, int Tasks, double Teacher, double Baseline, double Kd, double? GapClosure, McNemarResult KdVsBaseline,
        IReadOnlyDictionary<string, double> TeacherByTier)
    {
        public static SeedResult From(int seed, IReadOnlyList<ModelEvaluation> results)
        {
            ModelEvaluation Get(string name) => results.Single(r => r.Model == name);
            var (teacher, baseline, kd) = (Get("teacher"), Get("baseline"), Get("kd"));
            static IReadOnlyList<bool> Successes(ModelEvaluation m) => m.Outcomes.OrderBy(o => o.Index).Select(o => o.Succeeded).ToList();
            return new SeedResult(seed, teacher.Tasks, teacher.SuccessRate, baseline.SuccessRate, kd.SuccessRate,
                Evaluation.Statistics.GapClosure.Of(baseline.SuccessRate, kd.SuccessRate, teacher.SuccessRate),
                McNemar.Test(Successes(baseline), Successes(kd)),
                teacher.ByTag.Where(g => g.Tag == ModelEvaluation.Tier).ToDictionary(g => g.Value, g => g.SuccessRate, StringComparer.Ordinal));
        }
    }

    public static string Markdown(IReadOnlyList<SeedResult> rows)
    {
        var tiers = rows.SelectMany(r => r.TeacherByTier.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var md = new StringBuilder("# bench quality\n\n");
        md.Append("| seed | tasks | teacher | " + string.Concat(tiers.Select(t => $"teacher {t} | ")) + "baseline | KD | gap closure | McNemar KD vs baseline |\n");
        md.Append("|---|---:|---:|" + string.Concat(tiers.Select(_ => "---:|")) + "---:|---:|---:|---|\n");
        static string P(double v) => v.ToString("P1", CultureInfo.InvariantCulture);
        static string Gap(double? g) => g is { } v ? v.ToString("P0", CultureInfo.InvariantCulture) : "no gap";
        foreach (var r in rows)
        {
            md.Append(CultureInfo.InvariantCulture, $"| {r.Seed} | {r.Tasks} | {P(r.Teacher)} | ");
            foreach (var t in tiers) md.Append(P(r.TeacherByTier.GetValueOrDefault(t))).Append(" | ");
            md.Append(CultureInfo.InvariantCulture, $"{P(r.Baseline)} | {P(r.Kd)} | {Gap(r.GapClosure)} | KD alone {r.KdVsBaseline.OnlyCandidate}, baseline alone {r.KdVsBaseline.OnlyBaseline}, p = {r.KdVsBaseline.P:0.0000} |\n");
        }
        var (teacher, baseline, kd) = (rows.Average(r => r.Teacher), rows.Average(r => r.Baseline), rows.Average(r => r.Kd));
        md.Append(CultureInfo.InvariantCulture, $"| mean | | {P(teacher)} | ");
        foreach (var t in tiers) md.Append(P(rows.Average(r => r.TeacherByTier.GetValueOrDefault(t)))).Append(" | ");
        md.Append(CultureInfo.InvariantCulture, $"{P(baseline)} | {P(kd)} | {Gap(Evaluation.Statistics.GapClosure.Of(baseline, kd, teacher))} | |\n\n");
        md.Append("Each seed trains its own teacher and students with the quickstart's recipe and evaluates all of them on the same held-out tasks. ");
        md.Append("Gap closure = (KD - baseline) / (teacher - baseline); McNemar is the exact two-sided test on the tasks only one of the two solved.\n");
        return md.ToString();
    }
}
