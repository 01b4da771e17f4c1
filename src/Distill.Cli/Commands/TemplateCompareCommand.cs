using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Distill.Cli.Composition;
using Distill.Core.Errors;
using Distill.Core.Samples;
using Distill.Data;
using Distill.Evaluation;
using Distill.Evaluation.Curation;
using Distill.Generation.Quality;
using Distill.Generation.Recipes;
using Distill.Generation.Runner;
using Distill.Generation.Templates;
using Distill.Generation.Tools;
using Distill.Teachers;
using Distill.Training.Config;
using Distill.Training.Trainer;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Spectre.Console;

namespace Distill.Cli.Commands;

/// <summary>
/// `distill templates compare ID@A ID@B --teacher T --tasks SRC --count N [--train CONFIG]`: both versions on the same seed tasks
/// with the same sampling seeds, a metrics table with 95 % intervals, a verdict line and a chart; with --train, one student per
/// arm trained with the same settings and evaluated on the same held-out tasks.
/// </summary>
public static class TemplateCompareCommand
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var before = new Argument<string>("a") { Description = "Arm A: id@version (the current one, or one archived in a dataset; a unique prefix is enough)." };
        var after = new Argument<string>("b") { Description = "Arm B: id@version." };
        var teacher = new Option<string?>("--teacher") { Description = "Configured teacher name (default: the first in Teachers), or a domain's scripted teacher (world-scripted)." };
        var teacherModel = new Option<string?>("--teacher-model") { Description = "A model folder served in-process as the teacher (e.g. the quickstart's cached world teacher) instead of --teacher." };
        var tasks = new Option<string>("--tasks") { Description = "Seed tasks both arms run: world:train, a .jsonl or .parquet file.", Required = true };
        var count = new Option<int?>("--count") { Description = "Number of seed tasks.", DefaultValueFactory = _ => 50 };
        var output = new Option<string?>("--out") { Description = "Folder for both arms' datasets, compare.md, compare.json and charts/ (default Paths:Runs/template-compare/<id>)." };
        var data = new Option<string[]>("--data") { Description = "Datasets (or folders holding them) searched for archived template versions (repeatable; default Paths:Datasets)." };
        var seed = new Option<long>("--seed") { Description = "Base sampling seed, the same for both arms.", DefaultValueFactory = _ => 0 };
        var concurrency = new Option<int>("--concurrency") { Description = "Samples in flight at once.", DefaultValueFactory = _ => 4 };
        var maxSteps = new Option<int>("--max-steps") { Description = "tool_trace: teacher turns before step_limit.", DefaultValueFactory = _ => 8 };
        var vars = new Option<string[]>("--vars") { Description = "Extra template variable name=value (repeatable)." };
        var train = new Option<string?>("--train") { Description = "Train config: train one student per arm on that arm's data with these settings, and evaluate both." };
        var trainSet = new Option<string[]>("--train-set") { Description = "Override of the --train config, key=value (repeatable), e.g. --train-set steps=200." };
        var evalTasks = new Option<string>("--eval-tasks") { Description = "With --train: held-out tasks the students are evaluated on.", DefaultValueFactory = _ => "world:heldout" };
        var evalCount = new Option<int>("--eval-count") { Description = "With --train: number of held-out tasks.", DefaultValueFactory = _ => 50 };
        var evalTemplate = new Option<string>("--eval-template") { Description = "With --train: tool_trace template the students are prompted with.", DefaultValueFactory = _ => "world-agent" };
        var command = new Command("compare", "A/B test two template versions on the same seed tasks and seeds: metrics with 95 % intervals, a verdict, a chart; --train adds one student per arm.")
        {
            before, after, teacher, teacherModel, tasks, count, output, data, seed, concurrency, maxSteps, vars, train, trainSet, evalTasks, evalCount, evalTemplate,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var cli = context(parse);
            var request = new CompareRequest(TemplateRef.Parse(parse.GetValue(before)!), TemplateRef.Parse(parse.GetValue(after)!),
                parse.GetValue(teacher), parse.GetValue(teacherModel), parse.GetValue(tasks)!, parse.GetValue(count), parse.GetValue(output),
                parse.GetValue(data) ?? [], parse.GetValue(seed), parse.GetValue(concurrency), parse.GetValue(maxSteps), parse.GetValue(vars) ?? [],
                parse.GetValue(train), parse.GetValue(trainSet) ?? [], parse.GetValue(evalTasks)!, parse.GetValue(evalCount), parse.GetValue(evalTemplate)!);
            var (report, comparison) = await RunAsync(cli, request, cancellationToken);
            Print(cli.Console, comparison);
            cli.Console.WriteLine($"Report: {report}");
            return DistillApp.Success;
        });
        return command;
    }

    public sealed record CompareRequest(TemplateRef A, TemplateRef B, string? Teacher, string? TeacherModel, string Tasks, int? Count, string? Out,
        IReadOnlyList<string> Data, long Seed, int Concurrency, int MaxSteps, IReadOnlyList<string> Vars, string? Train, IReadOnlyList<string> TrainSet,
        string EvalTasks, int EvalCount, string EvalTemplate);

    public static async Task<(string Report, TemplateComparison Comparison)> RunAsync(CliContext cli, CompareRequest request, CancellationToken cancellationToken)
    {
        var options = cli.Options;
        if (request.Concurrency < 1) throw new DistillException("--concurrency must be at least 1", "e.g. --concurrency 4");
        if (request.Teacher is not null && request.TeacherModel is not null) throw new DistillException("--teacher and --teacher-model cannot be combined", "pick one teacher");
        var library = TemplateLibrary.LoadAndLint(options.Paths.PromptsFolder());
        var searched = DatasetFolders.Find(request.Data.Count > 0 ? request.Data : Directory.Exists(options.Paths.Datasets) ? [options.Paths.Datasets] : [], includeEvaluations: true);
        var outDir = Path.GetFullPath(request.Out ?? Path.Combine(options.Paths.Runs, "template-compare", request.A.Id));
        var a = Materialize(request.A, searched, library, outDir);
        var b = Materialize(request.B, searched, library, outDir);
        if (a.Version == b.Version && a.Id == b.Id) throw new DistillException($"both arms are {a.Id}@{a.Version}", "compare two different versions");
        if (a.Recipe != b.Recipe)
            throw new DistillException($"{a.Id}@{a.Version} is a '{a.Recipe}' template and {b.Id}@{b.Version} a '{b.Recipe}' one", "compare two versions for the same recipe");
        if (!RecipeCatalog.Names.Contains(a.Recipe)) throw new DistillException($"template recipe '{a.Recipe}' does not generate samples", $"compare templates for one of: {string.Join(", ", RecipeCatalog.Names)}");

        var seedTasks = await TaskSources.LoadAsync(request.Tasks, request.Count, cli.Domains.All, cancellationToken);
        var domain = cli.Domains.For(request.Tasks);
        var variables = TaskDomains.Variables(domain, TemplateVariableArgs.Parse(request.Vars));
        var tools = a.Recipe == SampleKinds.ToolTrace ? new ToolRuntime(domain.Tools) : null;

        await using var served = request.TeacherModel is { } modelDir
            ? await LocalModelServer.StartAsync(Path.GetFullPath(modelDir), "teacher", DeviceSelection.Resolve(options.Device), Math.Max(options.Serve.MaxBatchSize, request.Concurrency), cli.LoggerFactory, cancellationToken,
                decodeWorkers: options.Serve.DecodeWorkers)
            : null;
        var teacherName = served?.Name ?? request.Teacher ?? options.Teachers.FirstOrDefault()?.Name
            ?? throw new DistillException("no teacher is configured", "add one under Teachers in appsettings.json, or pass --teacher-model <folder>");
        var scripted = served is null && teacherName == domain.ScriptedTeacherName && options.Teachers.All(t => t.Name != teacherName);
        if (served is null && !scripted && options.Teachers.All(t => t.Name != teacherName))
            throw new DistillException($"no teacher named '{teacherName}' is configured", $"configured teachers: {string.Join(", ", options.Teachers.Select(t => t.Name))}; or --teacher-model <folder>");
        using var registry = served is not null ? TeacherRegistry.Create([served.TeacherOptions(request.Concurrency)], cli.LoggerFactory)
            : scripted ? null : TeacherRegistry.Create(options.Teachers, cli.LoggerFactory);
        var client = registry?.Get(teacherName) ?? domain.CreateScriptedTeacher(seedTasks);

        var arms = new List<TemplateArm>();
        foreach (var template in new[] { a, b })
        {
            var dir = Path.Combine(outDir, Sanitize($"{template.Id}@{template.Version}"));
            TemplateArchive.Store(dir, template);
            var caching = new CachingTeacher(client, Path.Combine(Path.GetFullPath(options.Paths.Cache), "teacher-responses"), template.Version);
            var recipeContext = new RecipeContext
            {
                Template = template,
                Teacher = caching,
                Tools = tools,
                Variables = variables,
                Seed = request.Seed,
                MaxSteps = request.MaxSteps,
            };
            var runner = new GenerationRunner(RecipeCatalog.Create(template.Recipe, recipeContext), caching, template.Version, new GenerateOptions
            {
                OutputDir = dir,
                Concurrency = request.Concurrency,
                CommitEvery = 50,
                Config = new JsonObject
                {
                    ["recipe"] = template.Recipe,
                    ["template_id"] = template.Id,
                    ["template_version"] = template.Version,
                    ["teacher"] = teacherName,
                    ["tasks"] = request.Tasks,
                    ["count"] = seedTasks.Count,
                    ["seed"] = request.Seed,
                    ["max_steps"] = request.MaxSteps,
                    ["template_compare"] = true,
                },
            }, cli.LoggerFactory.CreateLogger("Distill.TemplateCompare"));
            var latest = new RunProgressDisplay.LatestProgress();
            var run = runner.RunAsync(seedTasks, latest, cancellationToken);
            await RunProgressDisplay.ShowAsync(cli.Console, $"generate {template.Id}@{template.Version}", run, latest);
            await run;
            arms.Add(await ArmAsync(runner, seedTasks, $"{template.Id}@{template.Version}", dir, cancellationToken));
        }

        var comparison = TemplateComparison.Of(arms[0], arms[1]);
        if (request.Train is { } trainConfig) comparison = await TrainAndEvaluateAsync(cli, request, trainConfig, comparison, outDir, cancellationToken);
        var notes = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture, $"Both arms: {seedTasks.Count} seed tasks from `{request.Tasks}`, teacher `{teacherName}`, sampling seed {request.Seed}, recipe `{a.Recipe}`."),
            $"Datasets: `{arms[0].Dataset}`, `{arms[1].Dataset}` (`distill templates diff {a.Id}@{a.Version} {b.Id}@{b.Version} --data {outDir}` shows what changed).",
        };
        return (TemplateComparisonReport.Write(outDir, comparison, notes), comparison);
    }

    /// <summary>The arm's template as a file in the compare folder (its text from prompts/ or a dataset's archive), parsed and linted.</summary>
    private static TemplateDefinition Materialize(TemplateRef reference, IReadOnlyList<string> datasets, TemplateLibrary library, string outDir)
    {
        var (version, text) = reference.Resolve(datasets, library);
        var path = Path.Combine(outDir, "prompts", version, reference.Id + TemplateLinter.FileExtension);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        var definition = TemplateLinter.ParseText(path, text);
        if (definition.Version != version)
            throw new DistillException($"the stored text of {reference.Id}@{version} hashes to {definition.Version}", "the archive file was edited; restore it from the dataset it came from");
        return definition;
    }

    /// <summary>The arm's statistics and, per planned task, whether it gave an accepted, verified sample.</summary>
    private static async Task<TemplateArm> ArmAsync(GenerationRunner runner, IReadOnlyList<SeedTask> tasks, string name, string dir, CancellationToken ct)
    {
        var plan = runner.Plan(tasks);
        var planned = plan.Select(p => p.Id).ToHashSet(StringComparer.Ordinal);
        var builder = new TemplateStatsBuilder();
        var verified = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (sample, reject) in await ModelEvaluation.ReadRowsAsync(dir, ct))
        {
            if (!planned.Contains(sample.Id)) continue;
            builder.Add(sample, reject, dir);
            if (reject is null && sample.Verified == true) verified.Add(sample.Id);
        }
        var stats = builder.Build().SingleOrDefault() ?? throw new DistillException($"arm {name} produced no rows", "check the teacher (`distill doctor`) and run again: the run resumes");
        return new TemplateArm(name, dir, stats, plan.Select(p => verified.Contains(p.Id)).ToList());
    }

    /// <summary>One student per arm from the same train config (only datasets, out and name differ), both evaluated on the same held-out tasks.</summary>
    private static async Task<TemplateComparison> TrainAndEvaluateAsync(CliContext cli, CompareRequest request, string configPath, TemplateComparison comparison,
        string outDir, CancellationToken ct)
    {
        var students = new List<(string Name, string Dir)>();
        foreach (var (arm, label) in new[] { (comparison.A, "a"), (comparison.B, "b") })
        {
            var runDir = Path.Combine(outDir, "students", label);
            var config = TrainConfig.Load(configPath, request.TrainSet) with { Datasets = [arm.Dataset], Out = runDir, Name = $"student-{label}" };
            config.Validate();
            cli.Console.WriteLine($"train student-{label} on {arm.Name}");
            await Task.Run(() => TrainerHost.RunAsync(config, NullLogger.Instance, TrainCommand.WorldTokenizerFile, ct), ct);
            var merged = Path.Combine(runDir, TrainerHost.MergedFolder);
            students.Add(($"student-{label}", File.Exists(Path.Combine(merged, "config.json")) ? merged : runDir));
        }
        var evaluation = await EvaluateCommand.RunAsync(cli, new EvaluateCommand.EvaluationRequest(students, [], request.EvalTasks, request.EvalCount, request.EvalTemplate,
            Path.Combine(outDir, "students", "eval"), request.Concurrency, request.MaxSteps, Title: $"Students of {comparison.A.Name} vs {comparison.B.Name}",
            Comparisons: [("student-a", "student-b")]), ct);
        var results = evaluation.Results;
        var test = Distill.Evaluation.Statistics.McNemar.Test(results[0].Outcomes.Select(o => o.Succeeded).ToList(), results[1].Outcomes.Select(o => o.Succeeded).ToList());
        return comparison with { Students = results, StudentTest = test };
    }

    private static void Print(IAnsiConsole console, TemplateComparison c)
    {
        var table = new Table().AddColumn("metric").AddColumn(new TableColumn(Markup.Escape("A: " + c.A.Name)).RightAligned()).AddColumn(new TableColumn(Markup.Escape("B: " + c.B.Name)).RightAligned());
        foreach (var m in c.Metrics)
            table.AddRow(Markup.Escape(m.Name), Markup.Escape(TemplateComparisonReport.Cell(m.A, m.AInterval, m.IsRate)), Markup.Escape(TemplateComparisonReport.Cell(m.B, m.BInterval, m.IsRate)));
        if (c.Students is { Count: 2 } s)
            table.AddRow("student held-out success", Markup.Escape(TemplateComparisonReport.Cell(s[0].SuccessRate, s[0].SuccessInterval, true)), Markup.Escape(TemplateComparisonReport.Cell(s[1].SuccessRate, s[1].SuccessInterval, true)));
        console.Write(table);
        console.WriteLine(c.Verdict);
        if (c.StudentTest is { } t) console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"students: only A solved {t.OnlyBaseline}, only B solved {t.OnlyCandidate} held-out tasks, McNemar p = {t.P:0.###}"));
    }

    private static string Sanitize(string name) =>
        new(name.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' or '@' ? c : '-').ToArray());
}
