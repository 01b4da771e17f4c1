using System.CommandLine;
using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Cli.Composition;
using Distill.Cli.Configuration;
using Distill.Core.Errors;
using Distill.Data;
using Distill.Training.Config;
using Distill.Training.Trainer;
using Distill.World.Tasks;
using Spectre.Console;

namespace Distill.Cli.Commands;

/// <summary>
/// `distill quickstart`: the whole pipeline on the embedded world, no API key and no downloaded weights. It bootstraps a local
/// teacher from the world's scripted demonstrations (once: it is cached by recipe hash, and the default recipe's teacher ships
/// with Distill, see <see cref="ShippedTeacher"/>), serves it through Distill's own
/// OpenAI-compatible server, has it answer unlabelled train questions with top-20 logprobs through the same client code a user
/// points at Azure, then trains students of one size: a no-teacher baseline on a small labelled set, sequence-level KD and
/// sequence + logit KD on the teacher's verified traces, and a LoRA of the KD student on one tier; all are evaluated on held-out
/// tasks. Every stage is one of the ordinary commands (printed before it runs, so each can be re-run by hand), and every stage
/// resumes: running quickstart again after a crash or Ctrl+C continues where it stopped.
/// </summary>
public static class QuickstartCommand
{
    private const string TeacherModelName = "world-teacher";

    // Rows each copy of the teacher decodes at once, and requests in flight per copy. A decode step of the small teacher costs
    // about the same for 1 row as for 16 (it is bound by the number of TorchSharp calls), and continuous batching lets each
    // request leave as soon as it is done, so more rows per step is nearly free throughput.
    private const int TraceRowsPerCopy = 16;

    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var output = new Option<string>("--out") { Description = "Folder for everything the quickstart makes (datasets, runs, report).", DefaultValueFactory = _ => "runs/quickstart" };
        var demos = new Option<int?>("--demos") { Description = $"World train tasks turned into scripted demonstrations for the teacher (default {QuickstartPlan.Full.Demos})." };
        var labelled = new Option<int?>("--labelled") { Description = $"Labelled demonstrations the no-teacher baseline trains on (default {QuickstartPlan.Full.Labelled})." };
        var teacherSteps = new Option<int?>("--teacher-steps") { Description = $"Training steps of the bootstrapped teacher (default {QuickstartPlan.Full.TeacherSteps}); it is trained once and cached." };
        var traces = new Option<int?>("--traces") { Description = $"Unlabelled train questions the teacher answers to make the distillation dataset (default {QuickstartPlan.Full.Traces})." };
        var studentSteps = new Option<int?>("--student-steps") { Description = $"Training steps of each student (default {QuickstartPlan.Full.StudentSteps})." };
        var loraSteps = new Option<int?>("--lora-steps") { Description = $"LoRA steps on the --lora-tier demonstrations (default {QuickstartPlan.Full.LoraSteps})." };
        var loraTier = new Option<string?>("--lora-tier") { Description = $"World tier the LoRA stage specializes the KD student on (default {QuickstartPlan.Full.LoraTier})." };
        var evalTasks = new Option<int?>("--eval-tasks") { Description = $"Held-out tasks each model is evaluated on, all tiers (default {QuickstartPlan.Full.EvalTasks})." };
        var minTraces = new Option<int?>("--min-traces") { Description = $"Fewest verified teacher traces to distill from; fewer stops with advice (default {QuickstartPlan.Full.MinTraces})." };
        var teacherPreset = new Option<string?>("--teacher-preset") { Description = $"Model preset of the teacher (default {QuickstartPlan.Full.TeacherPreset})." };
        var studentPreset = new Option<string?>("--student-preset") { Description = $"Model preset of every student, at most a fifth of the teacher's parameters (default {QuickstartPlan.Full.StudentPreset})." };
        var retrain = new Option<bool>("--retrain-teacher") { Description = "Train the teacher again even when a cached one with the same recipe exists." };
        var fast = new Option<bool>("--fast") { Description = "Tiny models and few steps: every stage runs for real in a few minutes, but no model learns the task." };
        var command = new Command("quickstart",
            "The main job end to end on the embedded world (no API key, no downloads): bootstrap a local teacher (cached), serve it, generate traces with logprobs " +
            "on unlabelled questions, train a no-teacher baseline and distilled students of one size (sequence KD, sequence + logit KD), LoRA, evaluate all on " +
            "held-out tasks, write a report. Re-running resumes.")
        {
            output, demos, labelled, teacherPreset, teacherSteps, traces, studentPreset, studentSteps, loraSteps, loraTier, evalTasks, minTraces, retrain, fast,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var cli = context(parse);
            var defaults = parse.GetValue(fast) ? QuickstartPlan.Fast : QuickstartPlan.Full;
            var plan = defaults with
            {
                Out = Path.GetFullPath(parse.GetValue(output)!),
                Demos = parse.GetValue(demos) ?? defaults.Demos,
                Labelled = parse.GetValue(labelled) ?? defaults.Labelled,
                TeacherPreset = parse.GetValue(teacherPreset) ?? defaults.TeacherPreset,
                StudentPreset = parse.GetValue(studentPreset) ?? defaults.StudentPreset,
                TeacherSteps = parse.GetValue(teacherSteps) ?? defaults.TeacherSteps,
                Traces = parse.GetValue(traces) ?? defaults.Traces,
                StudentSteps = parse.GetValue(studentSteps) ?? defaults.StudentSteps,
                LoraSteps = parse.GetValue(loraSteps) ?? defaults.LoraSteps,
                LoraTier = parse.GetValue(loraTier) ?? defaults.LoraTier,
                EvalTasks = parse.GetValue(evalTasks) ?? defaults.EvalTasks,
                MinTraces = parse.GetValue(minTraces) ?? defaults.MinTraces,
                RetrainTeacher = parse.GetValue(retrain),
            };
            plan.Validate();
            await RunAsync(cli, plan, cancellationToken);
            return DistillApp.Success;
        });
        return command;
    }

    /// <summary>Runs (or resumes) every stage of <paramref name="plan"/>; returns the evaluation of teacher, baseline and students.</summary>
    public static async Task<EvaluateCommand.EvaluationRun> RunAsync(CliContext cli, QuickstartPlan plan, CancellationToken ct)
    {
        var console = cli.Console;
        Directory.CreateDirectory(plan.Configs);
        var options = cli.Options;
        var prompts = Path.GetFullPath(options.Paths.PromptsFolder());
        var cache = Path.Combine(plan.Out, ".cache");

        // Settings the stages run with: the user's prompts and device, the quickstart's own cache, and (for the trace stage) the
        // local teacher as the only configured teacher. Written to a file so each printed command can be re-run as it is.
        var settings = Path.Combine(plan.Out, "appsettings.json");
        WriteSettings(settings, options, prompts, cache, teacher: null);
        var timings = new List<(string Stage, TimeSpan Took)>();
        async Task Timed(string stage, Func<Task> run)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            await run();
            timings.Add((stage, clock.Elapsed));
        }

        Stage(console, 1, "scripted demonstrations of world train tasks: the teacher's corpus, the baseline's labelled set, the LoRA tier's set");
        await Timed("1 demonstrations", async () =>
        {
            await Demonstrations(cli, settings, "world:train", plan.Demos, plan.Demonstrations, ct);
            await Demonstrations(cli, settings, "world:train", plan.Labelled, plan.LabelledDemonstrations, ct);
            await Demonstrations(cli, settings, $"world:train:{plan.LoraTier}", Math.Max(plan.Labelled, 8), plan.LoraDemonstrations, ct);
        });

        Stage(console, 2, $"the local teacher ({plan.TeacherPreset}): trained once on the demonstrations, then reused (shipped with Distill or cached)");
        string teacher = "";
        await Timed("2 teacher", async () => teacher = await TeacherAsync(cli, plan, options.Paths.Cache, options.Device, ct));

        Stage(console, 3, "serve the teacher (OpenAI-compatible, in this process); it answers unlabelled train questions, with top-20 logprobs");
        await Timed("3 teacher traces", async () =>
        {
            await using var server = await LocalModelServer.StartAsync(teacher, TeacherModelName, DeviceSelection.Resolve(options.Device),
                maxBatchSize: TraceRowsPerCopy, cli.LoggerFactory, ct, options.Serve.GuideToolCalls, options.Serve.DecodeWorkers);
            // Enough requests in flight for a full batch on every copy of the model (one per core on CPU).
            var concurrency = Inv(TraceRowsPerCopy * server.DecodeWorkers);
            console.MarkupLineInterpolated($"[grey]teacher served at {server.Endpoint} as '{TeacherModelName}' (tokenizer {server.TokenizerId})[/]");
            WriteSettings(settings, options, prompts, cache, server.TeacherOptions(maxConcurrency: TraceRowsPerCopy * server.DecodeWorkers));
            await RunStepAsync(cli, ct, "generate", "--config", settings, "--recipe", "tool_trace", "--template", "world-agent",
                "--teacher", TeacherModelName, "--tasks", "world:train", "--count", Inv(plan.Traces), "--logprobs", "20", "--concurrency", concurrency,
                "--near-dup-threshold", "0.97", "--out", plan.TeacherTraces);
        });
        var usable = await CountUsableAsync(plan.TeacherTraces, plan.VerifiedTracesOnly, ct);
        if (usable < plan.MinTraces)
        {
            var what = plan.VerifiedTracesOnly ? "verified" : "accepted";
            throw new DistillException(
                string.Create(CultureInfo.InvariantCulture, $"the teacher produced {usable} {what} traces, fewer than --min-traces {plan.MinTraces} (see `distill dataset stats {plan.TeacherTraces}` for why)"),
                string.Create(CultureInfo.InvariantCulture, $"train the teacher longer: run quickstart with --retrain-teacher --teacher-steps {plan.TeacherSteps * 2}"));
        }

        var baselineConfig = QuickstartTrainConfigs.Student(plan, "student-baseline", plan.LabelledDemonstrations,
            QuickstartTrainConfigs.Sft, plan.Baseline, verifiedOnly: false, options.Device);
        var sequenceKdConfig = QuickstartTrainConfigs.Student(plan, "student-seq-kd", plan.TeacherTraces,
            QuickstartTrainConfigs.Sft, plan.SequenceKd, plan.VerifiedTracesOnly, options.Device);
        var logitKdConfig = QuickstartTrainConfigs.Student(plan, "student-kd", plan.TeacherTraces,
            QuickstartTrainConfigs.TopKKd, plan.LogitKd, plan.VerifiedTracesOnly, options.Device);
        if (DeviceSelection.Resolve(options.Device).type == TorchSharp.DeviceType.CPU)
        {
            // On a CPU the three students train side by side, one process each with a share of the cores (SideBySideTraining).
            Stage(console, 4, $"students of one size ({plan.StudentPreset}), side by side: (a) baseline on the {plan.Labelled} labelled " +
                "demonstrations, no teacher; (b) sequence-level KD: cross-entropy on the teacher's verified traces; (c) sequence + logit KD: " +
                "alpha * KL(teacher top-20 || student) + (1 - alpha) * CE on the verified traces");
            await Timed("4a-c students, side by side", () => SideBySideTraining.RunAsync(cli,
            [
                ("student-baseline", WriteConfig(Path.Combine(plan.Configs, "student-baseline.json"), baselineConfig), baselineConfig.Steps),
                ("student-seq-kd", WriteConfig(Path.Combine(plan.Configs, "student-seq-kd.json"), sequenceKdConfig), sequenceKdConfig.Steps),
                ("student-kd", WriteConfig(Path.Combine(plan.Configs, "student-kd.json"), logitKdConfig), logitKdConfig.Steps),
            ], Path.Combine(plan.Out, "logs"), ct));
        }
        else
        {
            Stage(console, 4, $"students of one size ({plan.StudentPreset}): (a) baseline on the {plan.Labelled} labelled demonstrations, no teacher");
            await Timed("4a baseline", () => TrainAsync(cli, plan, "student-baseline", baselineConfig, ct));
            Stage(console, 4, "(b) sequence-level KD: cross-entropy on the teacher's verified traces");
            await Timed("4b sequence KD", () => TrainAsync(cli, plan, "student-seq-kd", sequenceKdConfig, ct));
            Stage(console, 4, "(c) sequence + logit KD: alpha * KL(teacher top-20 || student) + (1 - alpha) * CE on the verified traces");
            await Timed("4c sequence + logit KD", () => TrainAsync(cli, plan, "student-kd", logitKdConfig, ct));
        }

        // The labelled demonstrations of every tier ride along as replay: on tier demonstrations alone the adapter forgot the
        // other tiers (world:dev: T0 60 -> 29 %, T1 89 -> 71 %); with them it kept or improved them (69 %, 94 %) and still
        // learned its tier (T2 3 -> 100 %) (docs/learning-study.md).
        Stage(console, 5, $"(d) LoRA of (c) on tier {plan.LoraTier}, with the labelled demonstrations of every tier as replay (base frozen, PEFT adapter)");
        var loraName = $"student-kd-lora-{plan.LoraTier}";
        await Timed("5 LoRA", () => TrainAsync(cli, plan, loraName,
            QuickstartTrainConfigs.Lora(plan, loraName, plan.LogitKd, [plan.LoraDemonstrations, plan.LabelledDemonstrations], plan.StudentLora, options.Device), ct));

        Stage(console, 6, "evaluate teacher, baseline and students on held-out tasks (tools executed for real)");
        var merged = Path.Combine(plan.StudentLora, TrainerHost.MergedFolder);
        List<(string Name, string Dir)> models =
        [
            ("teacher", teacher), ("baseline", plan.Baseline), ("seq-kd", plan.SequenceKd), ("kd", plan.LogitKd), ($"kd-lora-{plan.LoraTier}", merged),
        ];
        PrintCommand(console, ["evaluate", "--config", settings, .. models.SelectMany(m => new[] { "--model", $"{m.Name}={m.Dir}" }), "--count", Inv(plan.EvalTasks), "--out", plan.Out]);
        EvaluateCommand.EvaluationRun run = null!;
        await Timed("6 evaluation", async () => run = await EvaluateCommand.RunAsync(cli, new EvaluateCommand.EvaluationRequest(
            models, [], "world:heldout", plan.EvalTasks, "world-agent", plan.Out, Concurrency: 8, MaxSteps: 6,
            Title: "Distill quickstart: teacher, no-teacher baseline and distilled students on held-out tasks",
            Notes: Summary(plan, teacher, timings), Comparisons: [("baseline", "seq-kd"), ("baseline", "kd"), ("kd", $"kd-lora-{plan.LoraTier}")]), ct));
        var report = run.Report;
        var distillation = DistillationSummary.Lines(run.Results, "teacher", "baseline", ["seq-kd", "kd", $"kd-lora-{plan.LoraTier}"]);
        await File.AppendAllTextAsync(report, string.Join('\n', distillation) + Inv($"\nThe evaluation (stage 6) took {timings[^1].Took:hh\\:mm\\:ss}.\n"), ct);
        foreach (var line in distillation.Where(l => l.StartsWith("Gap closure", StringComparison.Ordinal))) console.WriteLine(line);
        console.MarkupLineInterpolated($"[bold green]Quickstart done.[/] Report: {report}");
        return run;
    }

    private static Task Demonstrations(CliContext cli, string settings, string tasks, int count, string output, CancellationToken ct) =>
        RunStepAsync(cli, ct, ["generate", "--config", settings, .. DemonstrationArguments(tasks, count, output)]);

    /// <summary>
    /// Stage 1's `distill generate` arguments after the settings file: the scripted demonstrations whose ids and texts are half
    /// the teacher's cache key. One sample in flight: of two tasks with the same trajectory the deduplicating filter keeps the one
    /// that arrives first, so with several in flight the kept ids (and the key) could follow the machine's thread timing, and a
    /// user would train a teacher for half an hour instead of copying the shipped one. Sequential, the 9,000 take 10 s instead of 7.
    /// </summary>
    public static string[] DemonstrationArguments(string tasks, int count, string output) =>
        ["--recipe", "tool_trace", "--template", "world-agent", "--teacher", ScriptedWorldTeacher.TeacherName, "--tasks", tasks,
            "--count", Inv(count), "--near-dup-threshold", "0.97", "--concurrency", "1", "--out", output];

    private static async Task<int> CountUsableAsync(string dataset, bool verifiedOnly, CancellationToken ct)
    {
        var usable = 0;
        await foreach (var sample in DatasetReader.Open(dataset).ReadSamplesAsync(ct)) if (!verifiedOnly || sample.Verified == true) usable++;
        return usable;
    }

    /// <summary>
    /// The teacher folder: the cached one whose recipe (config + demonstrations) matches, or a new one trained into the cache.
    /// The cache key hashes the train config and the demonstrations' ids and texts, so a changed world or recipe trains anew.
    /// </summary>
    private static async Task<string> TeacherAsync(CliContext cli, QuickstartPlan plan, string cacheRoot, string device, CancellationToken ct)
    {
        var config = QuickstartTrainConfigs.Teacher(plan, device);
        var key = await TeacherCacheKeyAsync(config, plan.Demonstrations, ct);
        var folder = Path.GetFullPath(Path.Combine(cacheRoot, "teachers", key));
        var provenance = Path.Combine(folder, ShippedTeacher.ProvenanceFile);
        if (File.Exists(provenance) && !plan.RetrainTeacher)
        {
            cli.Console.MarkupLineInterpolated($"[grey]cached teacher {folder} (same recipe; --retrain-teacher trains it again)[/]");
            return folder;
        }
        if (!plan.RetrainTeacher && plan.UseShippedTeacher && ShippedTeacher.TryCopy(ShippedTeacher.Folder, key, folder))
        {
            cli.Console.MarkupLineInterpolated($"[grey]shipped teacher {ShippedTeacher.Folder} (same recipe), copied to {folder}; --retrain-teacher trains it again[/]");
            return folder;
        }
        if (plan.RetrainTeacher && Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        config = config with { Out = folder };
        var path = WriteConfig(Path.Combine(plan.Configs, "teacher.json"), config);
        await RunStepAsync(cli, ct, "train", path);
        WriteJson(provenance, new JsonObject
        {
            ["command"] = $"distill train {path}",
            ["config"] = JsonSerializer.SerializeToNode(config, TrainConfig.JsonOptions),
            ["seed"] = config.Seed,
            ["key"] = key,
            ["build"] = typeof(QuickstartCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion,
            ["trained_at"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
        });
        return folder;
    }

    /// <summary>
    /// The recipe hash: the whole typed train config (defaults included, so a changed default trains anew) without its dataset
    /// path and output folder, plus the demonstrations' ids and answers. An SFT teacher's loss hashes as its kind and prompt
    /// weight alone: the distillation settings beside them (chunks, temperature, top-k...) are never read by SFT, and a changed default among them
    /// must not retrain a teacher that takes most of an hour. Settings that are off (false, 0, null) hash as if absent, so a new
    /// option that is off by default (`data.curated` was one) keeps the key of a teacher trained before it existed. The device
    /// hashes as "auto" (the default): where a teacher trains is not part of its recipe, and a user who sets `Device: cuda`
    /// must still find the shipped teacher.
    /// </summary>
    public static async Task<string> TeacherCacheKeyAsync(TrainConfig config, string demonstrations, CancellationToken ct)
    {
        var recipe = JsonNode.Parse((config with { Datasets = [], Out = "", Device = "auto" }).ToJson())!;
        if (config.Loss.Kind == LossKind.Sft)
            recipe["loss"] = new JsonObject { ["kind"] = recipe["loss"]!["kind"]!.DeepClone(), ["prompt_weight"] = recipe["loss"]!["prompt_weight"]!.DeepClone() };
        var text = new StringBuilder(WithoutOffSettings(recipe).ToJsonString());
        var rows = new List<string>();
        await foreach (var sample in DatasetReader.Open(demonstrations).ReadSamplesAsync(ct)) rows.Add(sample.Id + "\t" + string.Join("\u001f", sample.Messages.Select(m => m.Content + m.Reasoning)));
        rows.Sort(StringComparer.Ordinal);
        foreach (var row in rows) text.Append('\n').Append(row);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..16];
    }

    /// <summary>The object without its properties that are false, 0 or null, at every depth (arrays are kept as they are).</summary>
    public static JsonNode WithoutOffSettings(JsonNode node)
    {
        if (node is not JsonObject obj) return node.DeepClone();
        var kept = new JsonObject();
        foreach (var (name, value) in obj)
        {
            var off = value is null || (value is JsonValue v && ((v.TryGetValue<bool>(out var b) && !b) || (v.TryGetValue<double>(out var d) && d == 0)));
            if (!off) kept[name] = WithoutOffSettings(value!);
        }
        return kept;
    }

    private static Task TrainAsync(CliContext cli, QuickstartPlan plan, string name, TrainConfig config, CancellationToken ct) =>
        RunStepAsync(cli, ct, "train", WriteConfig(Path.Combine(plan.Configs, $"{name}.json"), config));

    private static List<string> Summary(QuickstartPlan plan, string teacher, IReadOnlyList<(string Stage, TimeSpan Took)> timings)
    {
        var demos = DatasetReader.Open(plan.Demonstrations);
        var generated = DatasetReader.Open(plan.TeacherTraces);
        var traces = plan.VerifiedTracesOnly ? "verified" : "accepted (verified or not: --fast)";
        var lines = new List<string>
        {
            "The embedded teacher is **bootstrapped locally**: a small Llama-style model trained on the world's scripted demonstrations, " +
            "then queried like any API teacher through Distill's OpenAI-compatible server. The students never see those demonstrations: " +
            Inv($"the baseline trains on {plan.Labelled} labelled ones, the distilled students on the teacher's answers to unlabelled train questions. ") +
            "With a real teacher (Azure OpenAI, vLLM) stages 3-6 apply unchanged.",
            "",
            "| stage | output | what |",
            "|---|---|---|",
            Inv($"| 1 demonstrations | `{Rel(plan, plan.Demonstrations)}`, `{Rel(plan, plan.LabelledDemonstrations)}`, `{Rel(plan, plan.LoraDemonstrations)}` | {demos.SampleCount} scripted trajectories for the teacher, {plan.Labelled} labelled for the baseline, tier {plan.LoraTier} for LoRA |"),
            Inv($"| 2 teacher | `{teacher}` | {plan.TeacherPreset}, SFT, {plan.TeacherSteps} steps, cached by recipe hash (the default recipe's ships with Distill); its `report.md` beside it |"),
            Inv($"| 3 traces | `{Rel(plan, plan.TeacherTraces)}` | {generated.SampleCount} accepted traces with top-20 logprobs on every assistant turn, {generated.RejectCount} rejected (`distill dataset stats`) |"),
            Inv($"| 4a baseline | `{Rel(plan, plan.Baseline)}` | {plan.StudentPreset}, SFT on the labelled demonstrations only |"),
            Inv($"| 4b seq-kd | `{Rel(plan, plan.SequenceKd)}` | {plan.StudentPreset}, SFT on the {traces} teacher traces |"),
            Inv($"| 4c kd | `{Rel(plan, plan.LogitKd)}` | {plan.StudentPreset}, top-20 logit KD (alpha 0.5) + CE on the {traces} teacher traces |"),
            Inv($"| | | every student: {plan.StudentSteps} steps, prompt tokens (system, user, tool results) in the loss at weight {plan.StudentPromptWeight} (`loss.prompt_weight`) |"),
            Inv($"| 5 kd-lora-{plan.LoraTier} | `{Rel(plan, plan.StudentLora)}` | LoRA r=8 of 4c on tier {plan.LoraTier} demonstrations plus the labelled ones (replay, so other tiers are not forgotten); merged model in `merged/` |"),
            "",
            "Wall time per stage (this run; a cached teacher takes no time):",
            "",
            "| stage | wall time |",
            "|---|---|",
        };
        lines.AddRange(timings.Select(t => Inv($"| {t.Stage} | {t.Took:hh\\:mm\\:ss} |")));
        lines.Add("");
        lines.Add("Re-run any stage by hand with the commands in `configs/` and `appsettings.json` of this folder (`distill train configs/student-kd.json`, ...).");
        lines.Add("");
        return lines;
    }

    private static string Rel(QuickstartPlan plan, string path) => Path.GetRelativePath(plan.Out, path);

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string Inv(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static void Stage(IAnsiConsole console, int number, string what)
    {
        console.WriteLine();
        console.MarkupLineInterpolated($"[bold]Stage {number}/6[/]: {what}");
    }

    // Plain Text, not markup: markup turns ":train:" in "world:train:T2" into an emoji.
    private static void PrintCommand(IAnsiConsole console, params string[] args) =>
        console.Write(new Text($"$ distill {string.Join(' ', args.Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"\"{a}\"" : a))}\n",
            new Style(Color.Grey)));

    /// <summary>Runs one ordinary `distill` command; its own error line has been printed when it fails, so this only stops the pipeline.</summary>
    private static async Task RunStepAsync(CliContext cli, CancellationToken ct, params string[] args)
    {
        PrintCommand(cli.Console, args);
        var full = cli.Verbose ? args.Prepend("--verbose").ToArray() : args;
        var code = await DistillApp.RunAsync(full, cli.Console, cli.Error, ct);
        if (code == DistillApp.Cancelled) throw new OperationCanceledException();
        if (code != DistillApp.Success) throw new QuickstartStepFailedException(code, args[0]);
    }

    private static string WriteConfig(string path, TrainConfig config)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, config.ToJson() + "\n");
        return path;
    }

    private static string WriteJson(string path, JsonObject json)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return path;
    }

    /// <summary>
    /// The stages' appsettings: the user's own settings, with the quickstart's prompts and cache folders and (for the trace stage)
    /// the served teacher as the only teacher. Serialized from the typed options, so every teacher setting is carried over.
    /// </summary>
    private static void WriteSettings(string path, DistillOptions user, string prompts, string cache, Distill.Teachers.TeacherOptions? teacher) =>
        SettingsFile.Write(path, new DistillOptions
        {
            Paths = new Distill.Core.Configuration.PathsOptions { Datasets = user.Paths.Datasets, Runs = user.Paths.Runs, Prompts = prompts, Cache = cache },
            Device = user.Device,
            Serve = user.Serve,
            Teachers = teacher is null ? [] : [teacher],
        });

    /// <summary>A stage's command failed after printing its own error line; the quickstart exits with the same code.</summary>
    public sealed class QuickstartStepFailedException(int exitCode, string command)
        : Exception($"distill {command} failed with exit code {exitCode}")
    {
        public int ExitCode { get; } = exitCode;
    }
}
