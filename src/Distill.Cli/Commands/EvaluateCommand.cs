using System.CommandLine;
using System.Globalization;
using Distill.Cli.Composition;
using Distill.Core.Errors;
using Distill.Core.Samples;
using Distill.Data.Lineage;
using Distill.Evaluation;
using Distill.Generation.Recipes;
using Distill.Generation.Runner;
using Distill.Generation.Templates;
using Distill.Teachers;
using Distill.Generation.Tools;
using Spectre.Console;

namespace Distill.Cli.Commands;

/// <summary>
/// `distill evaluate --model runs/a --model runs/b [--teacher azure] --tasks world:heldout`: every model runs the tool-using agent
/// loop on held-out tasks (tools really executed), trajectories are verified against ground truth, and one report compares them.
/// </summary>
public static class EvaluateCommand
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var models = new Option<string[]>("--model") { Description = "Model folder to evaluate, served in-process (repeatable; NAME=DIR names it in the report)." };
        var teachers = new Option<string[]>("--teacher") { Description = "Configured teacher (Teachers in appsettings.json) to evaluate through its API (repeatable)." };
        var tasks = new Option<string>("--tasks") { Description = "Evaluation tasks: world:heldout (never used for generation), or a .jsonl/.parquet task file.", DefaultValueFactory = _ => "world:heldout" };
        var count = new Option<int>("--count") { Description = "Number of tasks.", DefaultValueFactory = _ => 100 };
        var template = new Option<string>("--template") { Description = "tool_trace template the models are prompted with; use the one the students were trained on.", DefaultValueFactory = _ => "world-agent" };
        var output = new Option<string>("--out") { Description = "Report folder (report.md, evaluation.json, charts/, one trajectory dataset per model).", DefaultValueFactory = _ => "runs/eval" };
        var concurrency = new Option<int>("--concurrency") { Description = "Tasks in flight per model (batched together by the local server; on CPU it decodes one batch per core).", DefaultValueFactory = _ => 16 };
        var maxSteps = new Option<int>("--max-steps") { Description = "Model turns per task before step_limit.", DefaultValueFactory = _ => 6 };
        var samples = new Option<int>("--samples") { Description = "Sampled attempts per task besides the greedy one, for pass@k (0: greedy only).", DefaultValueFactory = _ => 0 };
        var temperature = new Option<double>("--temperature") { Description = "Temperature of the sampled attempts (--samples).", DefaultValueFactory = _ => 0.8 };
        var compare = new Option<string[]>("--compare") { Description = "Paired McNemar test of two evaluated models on the same tasks: \"CANDIDATE vs BASELINE\" (repeatable)." };
        var command = new Command("evaluate", "Evaluate models on held-out tasks with real tool execution: task success, partial credit, tool-call validity, failure reasons; report.md + charts.")
        {
            models, teachers, tasks, count, template, output, concurrency, maxSteps, samples, temperature, compare,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var cli = context(parse);
            var request = new EvaluationRequest(
                (parse.GetValue(models) ?? []).Select(ParseModel).ToList(),
                parse.GetValue(teachers) ?? [],
                parse.GetValue(tasks)!, parse.GetValue(count), parse.GetValue(template)!, Path.GetFullPath(parse.GetValue(output)!),
                parse.GetValue(concurrency), parse.GetValue(maxSteps),
                Samples: parse.GetValue(samples), Temperature: parse.GetValue(temperature),
                Comparisons: (parse.GetValue(compare) ?? []).Select(ParseComparison).ToList());
            var run = await RunAsync(cli, request, cancellationToken);
            cli.Console.WriteLine($"Report: {run.Report}");
            return DistillApp.Success;
        });
        return command;
    }

    public sealed record EvaluationRequest(IReadOnlyList<(string Name, string Dir)> Models, IReadOnlyList<string> Teachers, string Tasks, int Count,
        string Template, string OutputDir, int Concurrency, int MaxSteps, string Title = "Held-out evaluation", IReadOnlyList<string>? Notes = null,
        int Samples = 0, double Temperature = 0.8, IReadOnlyList<(string Baseline, string Candidate)>? Comparisons = null);

    /// <summary>The report's path and every model's scores.</summary>
    public sealed record EvaluationRun(string Report, IReadOnlyList<ModelEvaluation> Results);

    /// <summary>Evaluates every model and teacher of <paramref name="request"/>, prints the comparison and writes the report.</summary>
    public static async Task<EvaluationRun> RunAsync(CliContext cli, EvaluationRequest request, CancellationToken cancellationToken)
    {
        if (request.Models.Count + request.Teachers.Count == 0)
            throw new DistillException("nothing to evaluate", "pass --model <folder> and/or --teacher <configured name>");
        if (request.Count < 1) throw new DistillException("--count must be at least 1", "e.g. --count 100");
        if (request.Concurrency < 1) throw new DistillException("--concurrency must be at least 1", "e.g. --concurrency 8");
        if (request.Samples < 0) throw new DistillException("--samples cannot be negative", "e.g. --samples 5 for pass@1 and pass@5 from 5 sampled attempts per task, or 0 for greedy only");
        if (request.Samples > 0 && request.Temperature is <= 0 or > 2)
            throw new DistillException($"--temperature {request.Temperature.ToString(CultureInfo.InvariantCulture)} cannot sample", "sampled attempts need a temperature above 0 and at most 2, e.g. --temperature 0.8");
        var names = request.Models.Select(m => m.Name).Concat(request.Teachers).ToHashSet(StringComparer.Ordinal);
        foreach (var (baseline, candidate) in request.Comparisons ?? [])
        {
            foreach (var name in new[] { baseline, candidate }.Where(n => !names.Contains(n)))
                throw new DistillException($"--compare names '{name}', which is not evaluated", $"compare two of: {string.Join(", ", names)} (name a model with --model NAME=DIR)");
        }
        foreach (var (_, dir) in request.Models)
        {
            if (!File.Exists(Path.Combine(dir, "config.json")))
                throw new DistillException($"model folder '{dir}' has no config.json", "pass a folder written by `distill train`, `distill model init` or `distill lora merge`");
        }
        var options = cli.Options;
        var definition = TemplateLibrary.LoadAndLint(options.Paths.PromptsFolder()).Get(request.Template);
        if (definition.Recipe != SampleKinds.ToolTrace)
            throw new DistillException($"template '{definition.Id}' is for recipe '{definition.Recipe}', not tool_trace", "evaluate with a tool_trace template such as world-agent");
        var seedTasks = await TaskSources.LoadAsync(request.Tasks, request.Count, cli.Domains.All, cancellationToken);
        var domain = cli.Domains.For(request.Tasks);
        var evaluator = new HeldOutEvaluator(definition, seedTasks, new ToolRuntime(domain.Tools), request.OutputDir)
        {
            Variables = domain.TemplateVariables,
            Concurrency = request.Concurrency,
            MaxSteps = request.MaxSteps,
            Samples = request.Samples,
            Temperature = request.Temperature,
        };

        var results = new List<ModelEvaluation>();
        var device = DeviceSelection.Resolve(options.Device);
        foreach (var (name, dir) in request.Models)
        {
            await using var server = await LocalModelServer.StartAsync(dir, name, device, Math.Max(options.Serve.MaxBatchSize, request.Concurrency), cli.LoggerFactory, cancellationToken,
                options.Serve.GuideToolCalls, options.Serve.DecodeWorkers);
            using var registry = TeacherRegistry.Create([server.TeacherOptions(request.Concurrency)], cli.LoggerFactory);
            var subject = new EvaluationSubject(name, dir, LocalModelServer.WeightsIdentity(dir), registry.Get(name));
            results.Add(await EvaluateOneAsync(cli, evaluator, subject, cancellationToken) with { Lineage = RunLineage.FindForModel(dir) });
        }
        if (request.Teachers.Count > 0)
        {
            using var registry = TeacherRegistry.Create(options.Teachers, cli.LoggerFactory);
            foreach (var name in request.Teachers)
            {
                var teacher = registry.OptionsOf(name);
                var subject = new EvaluationSubject(name, $"{teacher.Provider} {teacher.Model}", Identity(teacher), registry.Get(name));
                results.Add(await EvaluateOneAsync(cli, evaluator, subject, cancellationToken));
            }
        }

        PrintTable(cli.Console, results);
        var notes = new List<string>(request.Notes ?? [])
        {
            string.Create(CultureInfo.InvariantCulture, $"{seedTasks.Count} tasks from `{request.Tasks}`, prompted with template `{definition.Id}@{definition.Version}`, at most {request.MaxSteps} model turns each; tools executed for real; local models' tool calls {(options.Serve.GuideToolCalls ? "guided by the tools' schemas once the model opens one (Serve:GuideToolCalls)" : "unguided (Serve:GuideToolCalls=false)")}."),
        };
        if (request.Samples > 0)
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"Besides the greedy attempt, {request.Samples} sampled attempts per task at temperature {request.Temperature} (each with its own seed) for pass@k."));
        return new EvaluationRun(EvaluationReport.Write(request.OutputDir, results, request.Title, notes, request.Comparisons), results);
    }

    private static async Task<ModelEvaluation> EvaluateOneAsync(CliContext cli, HeldOutEvaluator evaluator, EvaluationSubject subject, CancellationToken cancellationToken)
    {
        var latest = new RunProgressDisplay.LatestProgress();
        var run = evaluator.EvaluateAsync(subject, latest, cancellationToken);
        await RunProgressDisplay.ShowAsync(cli.Console, $"evaluate {subject.Name}", run, latest);
        return await run;
    }

    private static string Identity(TeacherOptions teacher) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{teacher.Provider}|{teacher.Endpoint}|{teacher.Model}")))[..16];

    private static (string Name, string Dir) ParseModel(string spec)
    {
        var eq = spec.IndexOf('=', StringComparison.Ordinal);
        var (name, dir) = eq > 0 ? (spec[..eq], spec[(eq + 1)..]) : (Path.GetFileName(Path.GetFullPath(spec).TrimEnd(Path.DirectorySeparatorChar)), spec);
        return (name, Path.GetFullPath(dir));
    }

    private static (string Baseline, string Candidate) ParseComparison(string spec)
    {
        var parts = spec.Split(" vs ", StringSplitOptions.TrimEntries);
        if (parts.Length != 2 || parts.Any(p => p.Length == 0))
            throw new DistillException($"--compare '{spec}' is not \"CANDIDATE vs BASELINE\"", "e.g. --compare \"student-kd vs baseline\"");
        return (parts[1], parts[0]);
    }

    private static void PrintTable(IAnsiConsole console, IReadOnlyList<ModelEvaluation> results)
    {
        var table = new Table().AddColumn("model").AddColumn(new TableColumn("task success").RightAligned()).AddColumn(new TableColumn("95 % interval").RightAligned()).AddColumn(new TableColumn("mean score").RightAligned())
            .AddColumn(new TableColumn("valid tool calls").RightAligned()).AddColumn(new TableColumn("rejected").RightAligned());
        foreach (var r in results)
        {
            table.AddRow(Markup.Escape(r.Model),
                string.Create(CultureInfo.InvariantCulture, $"{r.SuccessRate * 100:0.0} % of {r.Tasks}"),
                string.Create(CultureInfo.InvariantCulture, $"{r.SuccessInterval.Low * 100:0.0} - {r.SuccessInterval.High * 100:0.0} %"),
                r.MeanScore.ToString("0.00", CultureInfo.InvariantCulture),
                r.ToolCalls == 0 ? "-" : string.Create(CultureInfo.InvariantCulture, $"{r.ToolCallValidity * 100:0.0} % of {r.ToolCalls}"),
                string.Create(CultureInfo.InvariantCulture, $"{r.RejectedCount}"));
        }
        console.Write(table);
    }
}
