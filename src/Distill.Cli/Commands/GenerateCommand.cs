using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Distill.Cli.Composition;
using Distill.Core.Errors;
using Distill.Generation.Batch;
using Distill.Generation.Quality;
using Distill.Generation.Recipes;
using Distill.Generation.Routing;
using Distill.Generation.Runner;
using Distill.Generation.Templates;
using Distill.Generation.Tools;
using Distill.Teachers;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace Distill.Cli.Commands;

/// <summary>`distill generate`: a recipe over seed tasks through a teacher into a resumable dataset.</summary>
public static class GenerateCommand
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var recipe = new Option<string>("--recipe") { Description = $"Recipe: {string.Join(", ", RecipeCatalog.Names)}.", Required = true };
        var template = new Option<string?>("--template") { Description = "Template id in Paths:Prompts (default: the recipe's: tool-agent, cot-answer, instruction-basic)." };
        var teacher = new Option<string?>("--teacher") { Description = "Configured teacher name (default: the first in Teachers); world-scripted plays the embedded world's demonstrations (no model)." };
        var routing = new Option<string?>("--routing") { Description = "Instead of --teacher: a routing table of appsettings.json's Routing section that picks each task's teacher by a task field (e.g. by tier: easy tasks to a cheap teacher)." };
        var tasks = new Option<string>("--tasks") { Description = "Seed tasks: world:train, world:heldout, a .jsonl or a .parquet file.", Required = true };
        var count = new Option<int?>("--count") { Description = "Number of tasks (world: how many to generate; files: the first N)." };
        var output = new Option<string>("--out") { Description = "Dataset folder, e.g. datasets/my-set (created, or resumed).", Required = true };
        var concurrency = new Option<int>("--concurrency") { Description = "Samples in flight at once.", DefaultValueFactory = _ => 4 };
        var shard = new Option<string?>("--shard") { Description = "i/n: this worker takes every n-th task from i (0-based); workers write disjoint shards. Left out inside a Kubernetes Indexed Job: i from JOB_COMPLETION_INDEX, n from --shard-count or DISTILL_SHARD_COUNT." };
        var shardCount = new Option<int?>("--shard-count") { Description = "With JOB_COMPLETION_INDEX set (Kubernetes Indexed Job): the number of workers (the Job's completions); default: DISTILL_SHARD_COUNT." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Render every prompt and estimate tokens and cost; call nothing." };
        var budget = new Option<double?>("--budget-usd") { Description = "Hard cap on teacher spending: each request reserves its worst-case cost first, so the cap is never passed." };
        var reparse = new Option<bool>("--reparse") { Description = "Re-derive rows from cached teacher responses only; never call the teacher." };
        var logprobs = new Option<int?>("--logprobs") { Description = "Ask for K top logprobs per token (0-20) and store them." };
        var logprobsOptional = new Option<bool>("--logprobs-optional") { Description = "With --logprobs: if the teacher refuses logprobs, keep the text without them (warned once, recorded in the manifest)." };
        var stopAfterErrors = new Option<int>("--stop-after-errors") { Description = "Stop when this many samples in a row fail with the same request error (4xx); they are not committed.", DefaultValueFactory = _ => 5 };
        var retryRejects = new Option<string?>("--retry-rejects")
        {
            Description = "Generate committed rejects again as new attempts: all, or those of the comma-separated reasons (e.g. truncated,teacher_request_rejected).",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var seed = new Option<long>("--seed") { Description = "Base seed of the teacher's sampling.", DefaultValueFactory = _ => 0 };
        var commitEvery = new Option<int>("--commit-every") { Description = "Rows per committed shard (the most a crash can lose).", DefaultValueFactory = _ => 100 };
        var evol = new Option<string?>("--evol") { Description = "instruction recipe: deepen each seed with this template first (e.g. evol-deepen)." };
        var vars = new Option<string[]>("--vars") { Description = "Extra template variable name=value (repeatable)." };
        var maxSteps = new Option<int>("--max-steps") { Description = "tool_trace: teacher turns before step_limit.", DefaultValueFactory = _ => 8 };
        var simulator = new Option<string?>("--simulator") { Description = "dialogue: the simulated customer's template (default user-simulator)." };
        var maxTurns = new Option<int>("--max-turns") { Description = "dialogue: most agent turns.", DefaultValueFactory = _ => 3 };
        var judge = new Option<string?>("--judge") { Description = "Score every accepted sample with this judge template (e.g. judge-score), through the same teacher." };
        var minJudge = new Option<int>("--min-judge-score") { Description = "With --judge: reject samples scored below this (1-10).", DefaultValueFactory = _ => 1 };
        var nearDup = new Option<double>("--near-dup-threshold") { Description = "Jaccard similarity at which a row is a near-duplicate.", DefaultValueFactory = _ => 0.85 };
        var batch = new Option<bool>("--batch") { Description = "Send the teacher calls through the provider's Batch API (Azure OpenAI or OpenAI: the teacher's BatchPriceFactor of the price, results within 24 h). With --routing, teachers without a Batch API are called online in the same run. See docs/scale-out.md." };
        var batchMaxRequests = new Option<int>("--batch-max-requests") { Description = "With --batch: most requests per uploaded file.", DefaultValueFactory = _ => 50_000 };
        var batchMaxMb = new Option<int>("--batch-max-mb") { Description = "With --batch: most megabytes per uploaded file.", DefaultValueFactory = _ => 190 };
        var batchAttempts = new Option<int>("--batch-attempts") { Description = "With --batch: batches a failed or expired request is submitted in before it is given up (or sent online).", DefaultValueFactory = _ => 3 };
        var batchFallback = new Option<bool>("--batch-fallback-online") { Description = "With --batch: send requests that failed every batch attempt to the online API (full price) instead of leaving them for a later run." };
        var batchOpen = new Option<int>("--batch-open") { Description = "With --batch: samples open at once (the most requests in one round).", DefaultValueFactory = _ => 50_000 };
        var batchPoll = new Option<double>("--batch-poll-seconds") { Description = "With --batch: first wait between status polls; doubles up to 5 minutes.", DefaultValueFactory = _ => 10 };
        var batchCollect = new Option<double>("--batch-collect-seconds") { Description = "With --batch: a round is submitted once no new request has come for this long (every open sample is waiting).", DefaultValueFactory = _ => 2 };
        var resume = new Option<bool>("--resume") { Description = "With --batch: first finish the batches an earlier run left in flight (listed in <out>/batch/state.json) and use their results." };
        var command = new Command("generate", "Generate a distillation dataset: recipe + template + teacher over seed tasks; resumable, cached, budgeted.")
        {
            recipe, template, teacher, routing, tasks, count, output, concurrency, shard, shardCount, dryRun, budget, reparse, logprobs, logprobsOptional, stopAfterErrors, retryRejects,
            seed, commitEvery, evol, vars, maxSteps, simulator, maxTurns, judge, minJudge, nearDup,
            batch, batchMaxRequests, batchMaxMb, batchAttempts, batchFallback, batchOpen, batchPoll, batchCollect, resume,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var cli = context(parse);
            var options = cli.Options;
            var recipeName = parse.GetValue(recipe)!;
            if (!RecipeCatalog.Names.Contains(recipeName))
                throw new DistillException($"unknown recipe '{recipeName}'", $"use one of: {string.Join(", ", RecipeCatalog.Names)}");
            if (parse.GetValue(dryRun) && parse.GetValue(reparse))
                throw new DistillException("--dry-run and --reparse cannot be combined", "pick one");
            if (parse.GetValue(concurrency) < 1) throw new DistillException("--concurrency must be at least 1", "e.g. --concurrency 8");
            if (parse.GetValue(logprobs) is { } k && k is < 0 or > 20) throw new DistillException("--logprobs must be between 0 and 20", "e.g. --logprobs 5");
            if (parse.GetValue(logprobsOptional) && parse.GetValue(logprobs) is null)
                throw new DistillException("--logprobs-optional only applies with --logprobs", "add --logprobs K, or drop --logprobs-optional");
            if (parse.GetValue(stopAfterErrors) < 1) throw new DistillException("--stop-after-errors must be at least 1", "e.g. --stop-after-errors 5");
            if (parse.GetValue(budget) is { } usd && !(usd >= 0 && double.IsFinite(usd))) throw new DistillException("--budget-usd must be a finite amount of at least 0", "e.g. --budget-usd 5");
            var retryReasons = parse.GetResult(retryRejects) is null ? null
                : (parse.GetValue(retryRejects) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
            var (shardIndex, shards) = ShardSelection.Resolve(parse.GetValue(shard), parse.GetValue(shardCount), Environment.GetEnvironmentVariable);

            // Everything that can be wrong is checked here, before any teacher call.
            var library = TemplateLibrary.LoadAndLint(options.Paths.PromptsFolder());
            var definition = library.Get(parse.GetValue(template) ?? RecipeCatalog.DefaultTemplate(recipeName));
            if (definition.Recipe != RecipeCatalog.TemplateRecipe(recipeName))
                throw new DistillException($"template '{definition.Id}' is for recipe '{definition.Recipe}', not '{recipeName}'", $"pick a {RecipeCatalog.TemplateRecipe(recipeName)} template (`distill templates list`)");
            var judgeDefinition = parse.GetValue(judge) is { } judgeId ? library.Get(judgeId) : null;
            if (judgeDefinition is not null && judgeDefinition.Recipe != "judge")
                throw new DistillException($"--judge template '{judgeDefinition.Id}' is for recipe '{judgeDefinition.Recipe}', not 'judge'", "use a judge template such as judge-score");
            var simulatorDefinition = recipeName == "dialogue" ? library.Get(parse.GetValue(simulator) ?? "user-simulator") : null;
            var evolDefinition = parse.GetValue(evol) is { } evolId ? library.Get(evolId) : null;
            var routingName = parse.GetValue(routing);
            if (routingName is not null && parse.GetValue(teacher) is not null)
                throw new DistillException("--routing and --teacher cannot be combined", "use --teacher for one teacher, or --routing for a table that picks one per task");
            var domain = cli.Domains.For(parse.GetValue(tasks)!);
            // One teacher: --teacher, or the first configured. A domain's scripted teacher (world-scripted: the world's
            // demonstrations, no model) is built in unless a configured teacher takes the name.
            var teacherName = routingName is not null ? null
                : parse.GetValue(teacher) ?? options.Teachers.FirstOrDefault()?.Name
                    ?? throw new DistillException("no teacher is configured", "add one under Teachers in appsettings.json");
            var scripted = teacherName is not null && teacherName == domain.ScriptedTeacherName && options.Teachers.All(t => t.Name != teacherName);
            if (teacherName is not null && !scripted && options.Teachers.All(t => t.Name != teacherName))
                throw new DistillException($"no teacher named '{teacherName}' is configured",
                    $"configured teachers: {string.Join(", ", options.Teachers.Select(t => t.Name).Concat(cli.Domains.All.Where(d => d.ScriptedTeacherName is not null).Select(d => d.ScriptedTeacherName + " (built in)")))}");
            TeacherOptions OptionsOf(string name) => scripted
                ? new TeacherOptions { Name = name, Provider = "scripted", Model = $"{domain.Name}-demonstrations" }
                : options.Teachers.First(t => t.Name == name);
            var seedTasks = await TaskSources.LoadAsync(parse.GetValue(tasks)!, parse.GetValue(count), cli.Domains.All, cancellationToken);
            var variables = TaskDomains.Variables(domain, TemplateVariableArgs.Parse(parse.GetValue(vars) ?? []));
            var outDir = Path.GetFullPath(parse.GetValue(output)!);
            var mine = seedTasks.Where((_, i) => i % shards == shardIndex).ToList();
            var router = routingName is null ? TaskRouter.Single(teacherName!)
                : TaskRouter.Create(routingName, options.Routing.GetValueOrDefault(routingName)
                        ?? throw new DistillException($"no routing named '{routingName}' is configured",
                            options.Routing.Count == 0 ? "add one under Routing in appsettings.json (docs/generating.md, \"Routing tasks to teachers\")" : $"configured routings: {string.Join(", ", options.Routing.Keys)}"),
                    options.Teachers.Select(t => t.Name).ToList(), recipeName, variables, seedTasks);
            // The teachers this worker's tasks go to, each with the tasks it gets (a run with no task left still names its teacher).
            var shares = mine.GroupBy(router.TeacherFor, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
            var routed = shares.Count > 0 ? shares.Keys.Select(OptionsOf).ToList() : [OptionsOf(router.Default)];

            var tools = recipeName is "tool_trace" or "dialogue" ? new ToolRuntime(domain.Tools) : null;
            RecipeContext Context(ITeacher t) => new()
            {
                Template = definition,
                Teacher = t,
                Tools = tools,
                Variables = variables,
                TopLogprobs = parse.GetValue(logprobs),
                Seed = parse.GetValue(seed),
                MaxSteps = parse.GetValue(maxSteps),
                EvolTemplate = evolDefinition,
                SimulatorTemplate = simulatorDefinition,
                MaxTurns = parse.GetValue(maxTurns),
            };

            if (parse.GetValue(dryRun))
            {
                var estimates = new List<(TeacherOptions Teacher, DryRunEstimate Estimate)>();
                foreach (var teacherOptions in routed)
                {
                    var estimateContext = Context(new NoTeacher(teacherOptions));
                    estimates.Add((teacherOptions, await DryRun.EstimateAsync(RecipeCatalog.Create(recipeName, estimateContext), estimateContext, teacherOptions,
                        shares.GetValueOrDefault(teacherOptions.Name) ?? [], cancellationToken)));
                }
                PrintDryRun(cli.Console, estimates, definition);
                return DistillApp.Success;
            }

            var useBatch = parse.GetValue(batch);
            var batchOptions = new BatchOptions
            {
                MaxRequestsPerFile = parse.GetValue(batchMaxRequests),
                MaxBytesPerFile = parse.GetValue(batchMaxMb) * 1_000_000L,
                MaxAttempts = parse.GetValue(batchAttempts),
                FallbackOnline = parse.GetValue(batchFallback),
                PollDelay = TimeSpan.FromSeconds(Math.Max(0.001, Math.Min(300, parse.GetValue(batchPoll)))),
                CollectWindow = TimeSpan.FromSeconds(Math.Max(0.001, parse.GetValue(batchCollect))),
            };
            var batchState = useBatch ? CheckBatch(parse.GetValue(resume), scripted, routingName, parse.GetValue(reparse), parse.GetValue(batchOpen), batchOptions, routed, outDir) : null;
            if (!useBatch && parse.GetValue(resume))
                throw new DistillException("--resume is for --batch runs", "an online run resumes by running the same command again");

            var ledger = parse.GetValue(budget) is { } limit ? new BudgetLedger(limit) : null;
            // Each teacher's own BudgetUsd, one ledger per teacher whichever route reaches it (as the primary or as a fallback).
            var teacherLedgers = scripted ? new Dictionary<string, BudgetLedger>(StringComparer.Ordinal)
                : options.Teachers.Where(t => t.BudgetUsd is not null).ToDictionary(t => t.Name, t => new BudgetLedger(t.BudgetUsd!.Value), StringComparer.Ordinal);
            if (ledger is not null || teacherLedgers.Count > 0)
            {
                // A hard cap needs a bound on every completion; checked here, before any paid call.
                var unbounded = new[] { definition, judgeDefinition, simulatorDefinition, evolDefinition }.OfType<TemplateDefinition>().FirstOrDefault(d => d.Parameters.MaxTokens is null);
                if (unbounded is not null)
                    throw new DistillException($"template '{unbounded.Id}' sets no max_tokens, so a request's worst-case cost is unbounded and {(ledger is not null ? "--budget-usd" : "a teacher's BudgetUsd")} cannot be kept",
                        $"set max_tokens in its front matter (parameters), or run without {(ledger is not null ? "--budget-usd" : "BudgetUsd on the teachers")}");
            }

            TemplateArchive.Store(outDir, definition); // the text of this version stays readable after prompts/ changes

            using var registry = scripted ? null : TeacherRegistry.Create(options.Teachers, cli.LoggerFactory);
            var cacheDir = Path.Combine(Path.GetFullPath(options.Paths.Cache), "teacher-responses");
            var logger = cli.LoggerFactory.CreateLogger("Distill.Generate");
            ITeacher WithOwnBudget(string name, ITeacher client) => teacherLedgers.TryGetValue(name, out var own)
                ? new BudgetedTeacher(client, own, WorstCaseCost.Highest([registry!.OptionsOf(name)]), $"the BudgetUsd of teacher '{name}'")
                : client;
            // --batch: each routed teacher with a Batch API gets its own batch teacher (the online client only as the fallback);
            // one without (a local server) is called online in the same run.
            await using var fleet = batchState is null ? null
                : BatchFleet.Create(routed, batchOptions, batchState, name => registry!.Get(name), cancellationToken, cli.LoggerFactory);
            foreach (var name in fleet?.Online ?? [])
                cli.Console.WriteLine($"Teacher '{name}' has no Batch API: its tasks go online in this run, at its online price (set BatchApi: true on it if its server takes batches).");
            if (fleet is not null && parse.GetValue(resume)) await fleet.ResumeAsync(cancellationToken);
            var routes = new List<TeacherRoute>();
            foreach (var teacherOptions in routed)
            {
                var batchTeacher = fleet?.For(teacherOptions.Name);
                // A batch request reserves its worst case at the batch price, or at the online prices when it may go online.
                var worstCase = batchTeacher is null || batchOptions.FallbackOnline ? WorstCaseCost.Highest(FallbackChain(teacherOptions, options.Teachers))
                    : new WorstCaseCost(batchTeacher.Prices);
                ITeacher client = batchTeacher is not null
                    ? teacherLedgers.TryGetValue(teacherOptions.Name, out var own) ? new BudgetedTeacher(batchTeacher, own, worstCase, $"the BudgetUsd of teacher '{teacherOptions.Name}'") : batchTeacher
                    : registry?.Get(teacherOptions.Name, WithOwnBudget) ?? domain.CreateScriptedTeacher(seedTasks);
                if (ledger is not null)
                    client = new BudgetedTeacher(client, ledger, worstCase);
                var caching = new CachingTeacher(client, cacheDir, definition.Version, parse.GetValue(reparse));
                var optionalLogprobs = parse.GetValue(logprobsOptional) ? new LogprobsOptionalTeacher(caching, logger) : null;
                routes.Add(new TeacherRoute
                {
                    Teacher = teacherOptions.Name,
                    Recipe = RecipeCatalog.Create(recipeName, Context((ITeacher?)optionalLogprobs ?? caching)),
                    Cache = caching,
                    Budget = teacherLedgers.GetValueOrDefault(teacherOptions.Name),
                    Judge = judgeDefinition is null ? null : new LlmJudge(judgeDefinition, caching),
                    LogprobsOptional = optionalLogprobs,
                });
            }
            var config = new JsonObject
            {
                ["recipe"] = recipeName,
                ["template_id"] = definition.Id,
                ["template_version"] = definition.Version,
                ["evol_template"] = evolDefinition is null ? null : $"{evolDefinition.Id}@{evolDefinition.Version}",
            };
            if (router.Name is null)
            {
                config["teacher"] = TeacherJson(routed[0]);
            }
            else
            {
                // Rows name the provider and model that answered them; this says which configured teacher each one is, and why.
                config["teachers"] = new JsonArray(routed.Select(t => (JsonNode)TeacherJson(t)).ToArray());
                config["routing"] = RoutingJson(router);
            }
            config["params"] = new JsonObject
            {
                ["temperature"] = definition.Parameters.Temperature,
                ["top_p"] = definition.Parameters.TopP,
                ["max_tokens"] = definition.Parameters.MaxTokens,
                ["seed"] = parse.GetValue(seed),
                ["logprobs"] = parse.GetValue(logprobs),
                ["logprobs_optional"] = parse.GetValue(logprobsOptional) ? true : null,
            };
            config["tasks"] = parse.GetValue(tasks);
            config["count"] = seedTasks.Count;
            config["shard"] = $"{shardIndex}/{shards}";
            config["max_steps"] = parse.GetValue(maxSteps);
            config["simulator_template"] = simulatorDefinition is null ? null : $"{simulatorDefinition.Id}@{simulatorDefinition.Version}";
            config["judge_template"] = judgeDefinition is null ? null : $"{judgeDefinition.Id}@{judgeDefinition.Version}";
            config["min_judge_score"] = judgeDefinition is null ? null : parse.GetValue(minJudge);
            config["max_turns"] = recipeName == "dialogue" ? parse.GetValue(maxTurns) : null;
            config["near_dup_threshold"] = parse.GetValue(nearDup);
            config["batch"] = fleet is null ? null : new JsonObject
            {
                ["price_factor"] = router.Name is null ? routed[0].BatchPriceFactor : null,
                ["price_factors"] = router.Name is null ? null : new JsonObject(fleet.Teachers.Select(t => KeyValuePair.Create(t.Name, (JsonNode?)t.PriceFactor))),
                ["online_teachers"] = fleet.Online.Count == 0 ? null : new JsonArray([.. fleet.Online.Select(n => (JsonNode?)n)]),
                ["max_requests_per_file"] = batchOptions.MaxRequestsPerFile,
                ["max_bytes_per_file"] = batchOptions.MaxBytesPerFile,
                ["max_attempts"] = batchOptions.MaxAttempts,
                ["fallback_online"] = batchOptions.FallbackOnline,
            };
            var runner = new GenerationRunner(router, routes, definition.Version, new GenerateOptions
            {
                OutputDir = outDir,
                Concurrency = useBatch ? parse.GetValue(batchOpen) : parse.GetValue(concurrency),
                ShardIndex = shardIndex,
                ShardCount = shards,
                Budget = ledger,
                StopAfterRepeatedErrors = parse.GetValue(stopAfterErrors),
                RetryRejects = retryReasons,
                CommitEvery = parse.GetValue(commitEvery),
                Quality = new QualityOptions { NearDuplicateThreshold = parse.GetValue(nearDup) },
                MinJudgeScore = parse.GetValue(minJudge),
                Config = config,
            }, logger);

            var latest = new RunProgressDisplay.LatestProgress();
            var run = runner.RunAsync(seedTasks, latest, cancellationToken);
            RunProgress final;
            try
            {
                await RunProgressDisplay.ShowAsync(cli.Console, "generate", run, latest);
                final = await run;
            }
            finally
            {
                if (fleet is not null)
                {
                    await fleet.DisposeAsync(); // cancels what is still in flight after a failure or Ctrl+C, and delivers what it completed
                    PrintBatch(cli.Console, fleet, outDir);
                }
            }
            PrintSummary(cli.Console, final, outDir);
            return DistillApp.Success;
        });
        return command;
    }

    /// <summary>
    /// The checks of a <c>--batch</c> run, before any call: what it cannot be combined with, a run with no teacher that takes
    /// batches, and the batches an earlier run left in flight (paid for: refused without <c>--resume</c>). Returns the dataset's batch state.
    /// </summary>
    private static BatchState CheckBatch(bool resume, bool scripted, string? routingName, bool reparse, int open, BatchOptions options, IReadOnlyList<TeacherOptions> routed, string outDir)
    {
        if (scripted) throw new DistillException($"--batch needs a configured Azure OpenAI or OpenAI teacher; '{routed[0].Name}' is built in", "pick a teacher from Teachers in appsettings.json");
        if (reparse) throw new DistillException("--batch and --reparse cannot be combined (--reparse never calls the teacher)", "pick one");
        if (open < 1) throw new DistillException("--batch-open must be at least 1", "e.g. --batch-open 50000");
        var problems = options.Validate();
        if (problems.Count > 0) throw new DistillException($"Invalid batch options: {string.Join(" ", problems)}", "e.g. --batch-max-requests 50000 --batch-max-mb 190");
        var state = BatchState.Load(outDir);
        BatchFleet.Check(routed, routingName, state, resume);
        return state;
    }

    private static void PrintBatch(IAnsiConsole console, BatchFleet fleet, string outDir)
    {
        foreach (var t in fleet.Teachers)
        {
            var b = t.Progress;
            var who = fleet.Teachers.Count > 1 || fleet.Online.Count > 0 ? $" (teacher {t.Name})" : "";
            console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Batch API{who}: {b.Rounds} round(s), {b.Files} file(s), {b.Submitted} request line(s) submitted ({b.Resubmitted} re-submitted, {b.SentOnline} sent online, {b.Recovered} recovered from an earlier run); billed at {t.PriceFactor:0.##} x the online price."));
            if (b.CancelledBatches > 0)
                console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Cancelled {b.CancelledBatches} batch(es){who}: the provider bills the {b.CompletedInCancelled} request(s) they completed, and those are kept (committed or in the response cache)."));
        }
        var left = BatchState.Load(outDir).InFlight;
        if (left.Count > 0)
            console.WriteLine($"{left.Count} batch(es) still in flight, listed in {BatchState.PathIn(outDir)}: run the same command with --resume to collect their results.");
    }

    /// <summary>A teacher's identity for the manifest (no secret: the key's variable name is not even listed).</summary>
    private static JsonObject TeacherJson(TeacherOptions t) => new()
    {
        ["name"] = t.Name,
        ["provider"] = t.Provider,
        ["model"] = t.Model,
        ["endpoint"] = t.Endpoint,
        ["tokenizer_id"] = t.TokenizerId,
        ["budget_usd"] = t.BudgetUsd,
    };

    /// <summary>The routing table a run used, for the manifest.</summary>
    private static JsonObject RoutingJson(TaskRouter router)
    {
        var routes = new JsonObject();
        foreach (var (value, teacher) in router.Routes.OrderBy(r => r.Key, StringComparer.Ordinal)) routes[value] = teacher;
        return new JsonObject { ["name"] = router.Name, ["field"] = router.Field?.Text, ["routes"] = routes, ["default"] = router.Default };
    }

    /// <summary>The teacher and the fallbacks that may answer for it (each one's prices bound the worst case).</summary>
    private static IEnumerable<TeacherOptions> FallbackChain(TeacherOptions first, IReadOnlyList<TeacherOptions> all)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        TeacherOptions? t = first;
        while (t is not null && seen.Add(t.Name))
        {
            yield return t;
            var next = t.FallbackTeacher;
            t = next is null ? null : all.FirstOrDefault(o => o.Name == next);
        }
    }

    private static void PrintSummary(IAnsiConsole console, RunProgress p, string outDir)
    {
        var table = new Table().AddColumn("generate").AddColumn(new TableColumn("value").RightAligned());
        string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
        table.AddRow("accepted", Inv($"{p.Accepted}"));
        foreach (var (reason, n) in p.Rejected.OrderBy(r => r.Key, StringComparer.Ordinal)) table.AddRow(Markup.Escape($"rejected: {reason}"), Inv($"{n}"));
        foreach (var (reason, n) in p.Uncommitted.OrderBy(r => r.Key, StringComparer.Ordinal)) table.AddRow(Markup.Escape($"not committed, retried on resume: {reason}"), Inv($"{n}"));
        table.AddRow("already committed (skipped)", Inv($"{p.Skipped}"));
        if (p.RetriedRejects > 0) table.AddRow("rejects retried as new attempts", Inv($"{p.RetriedRejects}"));
        if (p.AnsweredWithoutLogprobs > 0) table.AddRow("answered without logprobs (refused)", Inv($"{p.AnsweredWithoutLogprobs}"));
        table.AddRow("teacher calls", Inv($"{p.TeacherCalls}"));
        table.AddRow("cache hits", Inv($"{p.CacheHits}"));
        table.AddRow("tokens (prompt + completion)", Inv($"{p.PromptTokens:N0} + {p.CompletionTokens:N0}"));
        table.AddRow("cost", Inv($"${p.CostUsd:0.0000}"));
        table.AddRow("cost per accepted sample", p.CostPerAccepted is { } c ? Inv($"${c:0.000000}") : "-");
        if (p.Budget is { } b)
        {
            table.AddRow("budget: spent of limit", Inv($"${b.SpentUsd:0.0000} of ${b.LimitUsd:0.0000}"));
            table.AddRow("budget: reserved, then released", Inv($"${b.ReleasedUsd:0.0000}"));
            table.AddRow("budget: real cost / worst-case estimate", b.SpentShareOfWorstCase is { } share ? Inv($"{share:P0} (estimate error {1 - share:P0})") : "-");
            if (b.Overruns > 0) table.AddRow("budget: calls that cost more than their worst case", Inv($"{b.Overruns}"));
        }
        // Per teacher when tasks were routed to several, or when a teacher has a budget of its own.
        foreach (var t in p.Teachers.Where(_ => p.Teachers.Count > 1))
        {
            table.AddRow(Markup.Escape($"teacher {t.Teacher}: accepted / rejected of tasks"), Inv($"{t.Accepted} / {t.Rejected} of {t.Tasks}"));
            table.AddRow(Markup.Escape($"teacher {t.Teacher}: cost (per accepted sample)"), Inv($"${t.CostUsd:0.0000}") + (t.CostPerAccepted is { } tc ? Inv($" (${tc:0.000000})") : ""));
        }
        foreach (var t in p.Teachers.Where(t => t.Budget is not null))
            table.AddRow(Markup.Escape($"teacher {t.Teacher}: own budget spent of limit"), Inv($"${t.Budget!.SpentUsd:0.0000} of ${t.Budget.LimitUsd:0.0000}"));
        table.AddRow("elapsed", Inv($"{p.Elapsed:hh\\:mm\\:ss}"));
        console.Write(table);
        if (p.BudgetReached) console.WriteLine("Budget reached: stopped early; everything so far is committed. Raise --budget-usd and run again to continue.");
        foreach (var t in p.TeachersOutOfBudget)
            console.WriteLine($"Teacher {t.Teacher}'s own budget reached: {t.Uncommitted} of its tasks are left for the next run (the other teachers' went on). Raise its BudgetUsd and run again to generate them.");
        console.WriteLine($"Dataset: {outDir}");
    }

    private static void PrintDryRun(IAnsiConsole console, IReadOnlyList<(TeacherOptions Teacher, DryRunEstimate Estimate)> estimates, TemplateDefinition template)
    {
        string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
        foreach (var (teacher, e) in estimates)
        {
            var table = new Table().AddColumn("dry run (no teacher calls)").AddColumn(new TableColumn("estimate").RightAligned());
            table.AddRow("template", Markup.Escape($"{template.Id}@{template.Version}"));
            table.AddRow("teacher", Markup.Escape($"{teacher.Name} ({teacher.Provider}, {teacher.Model})"));
            table.AddRow("samples", Inv($"{e.Samples}"));
            table.AddRow("teacher calls", Inv($"{e.Calls}"));
            table.AddRow("prompt tokens", Inv($"{e.PromptTokens:N0}"));
            table.AddRow("completion tokens (max)", Inv($"{e.MaxCompletionTokens:N0}"));
            table.AddRow("cost (at most)", Inv($"${e.CostUsd:0.0000}"));
            console.Write(table);
        }
        if (estimates.Count > 1)
            console.WriteLine(Inv($"All teachers: {estimates.Sum(x => x.Estimate.Samples)} samples, cost at most ${estimates.Sum(x => x.Estimate.CostUsd):0.0000}"));
        foreach (var line in estimates.Select(x => x.Estimate.FirstPrompt).FirstOrDefault(p => p.Count > 0) ?? []) console.WriteLine(line);
    }

    /// <summary>The dry run's stand-in: carries the teacher's identity, and refuses to be called.</summary>
    private sealed class NoTeacher(TeacherOptions options) : ITeacher
    {
        public string Name => options.Name;
        public Distill.Core.Samples.TeacherInfo Info => new(options.Provider, options.Model, options.TokenizerId);
        public Task<TeacherResponse> CompleteAsync(TeacherRequest request, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("a dry run never calls the teacher");
    }
}
