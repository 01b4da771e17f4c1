using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Cli.Composition;
using Distill.Core.Errors;
using Distill.Data;
using Distill.World.Tasks;
using Distill.Training.Trainer;
using Spectre.Console;

namespace Distill.Cli.Commands;

/// <summary>
/// `distill quickstart`: the whole pipeline on the embedded world, no API key and no downloaded weights. It bootstraps a local
/// teacher from the world's scripted demonstrations, serves it through Distill's own OpenAI-compatible server, generates tool-call
/// traces with top-20 logprobs from it through the same client code a user points at Azure, distills a much smaller student with
/// sequence- and logit-level KD, specializes it with LoRA, and evaluates teacher and students on held-out tasks.
/// Every stage is one of the ordinary commands (printed before it runs, so each can be re-run by hand), and every stage resumes:
/// running quickstart again after a crash or Ctrl+C continues where it stopped.
/// </summary>
public static class QuickstartCommand
{
    private const string TeacherModelName = "world-teacher";

    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var output = new Option<string>("--out") { Description = "Folder for everything the quickstart makes (datasets, runs, report).", DefaultValueFactory = _ => "runs/quickstart" };
        var demos = new Option<int>("--demos") { Description = "World tasks turned into scripted demonstrations for the teacher (duplicates are dropped).", DefaultValueFactory = _ => 1200 };
        var teacherSteps = new Option<int>("--teacher-steps") { Description = "Training steps of the bootstrapped teacher (batch 8).", DefaultValueFactory = _ => 300 };
        var traces = new Option<int>("--traces") { Description = "World tasks the teacher answers to make the distillation dataset.", DefaultValueFactory = _ => 400 };
        var studentSteps = new Option<int>("--student-steps") { Description = "KD steps of the student (batch 8).", DefaultValueFactory = _ => 200 };
        var loraSteps = new Option<int>("--lora-steps") { Description = "LoRA steps on the demonstrations (batch 8).", DefaultValueFactory = _ => 60 };
        var evalTasks = new Option<int>("--eval-tasks") { Description = "Held-out tasks each model is evaluated on.", DefaultValueFactory = _ => 40 };
        var minTraces = new Option<int>("--min-traces") { Description = "Fewest accepted teacher traces to distill from; fewer stops with advice.", DefaultValueFactory = _ => 32 };
        var command = new Command("quickstart",
            "The main job end to end on the embedded world (no API key, no downloads): bootstrap a local teacher, serve it, generate traces with logprobs, " +
            "distill a smaller student (sequence + logit KD), LoRA, evaluate on held-out tasks, write a report. Re-running resumes.")
        {
            output, demos, teacherSteps, traces, studentSteps, loraSteps, evalTasks, minTraces,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var cli = context(parse);
            var plan = new QuickstartPlan(Path.GetFullPath(parse.GetValue(output)!), parse.GetValue(demos), parse.GetValue(teacherSteps), parse.GetValue(traces),
                parse.GetValue(studentSteps), parse.GetValue(loraSteps), parse.GetValue(evalTasks), parse.GetValue(minTraces));
            plan.Validate();
            return await RunAsync(cli, plan, cancellationToken);
        });
        return command;
    }

    public sealed record QuickstartPlan(string Out, int Demos, int TeacherSteps, int Traces, int StudentSteps, int LoraSteps, int EvalTasks, int MinTraces)
    {
        public string Demonstrations => Path.Combine(Out, "datasets", "demonstrations");
        public string TeacherTraces => Path.Combine(Out, "datasets", "teacher-traces");
        public string Teacher => Path.Combine(Out, "runs", "teacher");
        public string Student => Path.Combine(Out, "runs", "student-kd");
        public string StudentLora => Path.Combine(Out, "runs", "student-lora");
        public string Configs => Path.Combine(Out, "configs");

        public void Validate()
        {
            foreach (var (name, value, least) in new[] { ("--demos", Demos, 8), ("--teacher-steps", TeacherSteps, 1), ("--traces", Traces, 1),
                         ("--student-steps", StudentSteps, 1), ("--lora-steps", LoraSteps, 1), ("--eval-tasks", EvalTasks, 1), ("--min-traces", MinTraces, 1) })
            {
                if (value < least)
                    throw new DistillException(string.Create(CultureInfo.InvariantCulture, $"{name} must be at least {least}, not {value}"), "leave it out for the default");
            }
        }
    }

    private static async Task<int> RunAsync(CliContext cli, QuickstartPlan plan, CancellationToken ct)
    {
        var console = cli.Console;
        Directory.CreateDirectory(plan.Configs);
        var options = cli.Options;
        var prompts = Path.GetFullPath(options.Paths.Prompts);
        var cache = Path.Combine(plan.Out, ".cache");

        // Settings the stages run with: the user's prompts and device, the quickstart's own cache, and (for the trace stage) the
        // local teacher as the only configured teacher. Written to a file so each printed command can be re-run as it is.
        var settings = Path.Combine(plan.Out, "appsettings.json");
        WriteSettings(settings, prompts, cache, options.Device, teacher: null);

        Stage(console, 1, "scripted demonstrations of the world's tasks (the teacher's training data)");
        await RunStepAsync(cli, ct, "generate", "--config", settings, "--recipe", "tool_trace", "--template", "world-agent",
            "--teacher", ScriptedWorldTeacher.TeacherName, "--tasks", "world:train", "--count", Inv(plan.Demos),
            "--near-dup-threshold", "0.97", "--out", plan.Demonstrations);

        Stage(console, 2, "bootstrap the local teacher: sequence-level training on the demonstrations");
        var teacherConfig = WriteTrainConfig(plan.Configs, "teacher", new JsonObject
        {
            ["student"] = new JsonObject { ["preset"] = "world-student", ["tokenizer"] = "world" },
            ["datasets"] = new JsonArray(plan.Demonstrations),
            ["loss"] = new JsonObject { ["kind"] = "sft" },
            ["optimizer"] = new JsonObject { ["lr"] = 3e-3, ["min_lr_ratio"] = 0.1, ["warmup_steps"] = 20 },
            ["steps"] = plan.TeacherSteps,
            ["out"] = plan.Teacher,
        }, options.Device);
        await RunStepAsync(cli, ct, "train", "--config", teacherConfig);

        Stage(console, 3, "serve the teacher (OpenAI-compatible, in this process) and generate tool-call traces with top-20 logprobs");
        await using (var server = await LocalModelServer.StartAsync(plan.Teacher, TeacherModelName, DeviceSelection.Resolve(options.Device),
            maxBatchSize: 8, cli.LoggerFactory, ct))
        {
            console.MarkupLineInterpolated($"[grey]teacher served at {server.Endpoint} as '{TeacherModelName}' (tokenizer {server.TokenizerId})[/]");
            WriteSettings(settings, prompts, cache, options.Device, server.TeacherOptions(maxConcurrency: 8));
            await RunStepAsync(cli, ct, "generate", "--config", settings, "--recipe", "tool_trace", "--template", "world-agent",
                "--teacher", TeacherModelName, "--tasks", "world:train", "--count", Inv(plan.Traces), "--logprobs", "20", "--concurrency", "8",
                "--near-dup-threshold", "0.97", "--out", plan.TeacherTraces);
        }
        var accepted = DatasetReader.Open(plan.TeacherTraces).SampleCount;
        if (accepted < plan.MinTraces)
        {
            throw new DistillException(
                string.Create(CultureInfo.InvariantCulture, $"the teacher produced {accepted} usable traces, fewer than --min-traces {plan.MinTraces} (see `distill dataset stats {plan.TeacherTraces}` for why)"),
                string.Create(CultureInfo.InvariantCulture, $"train the teacher longer: delete {plan.Teacher} and {plan.TeacherTraces}, then run quickstart with --teacher-steps {plan.TeacherSteps * 2}"));
        }

        Stage(console, 4, "distill a smaller student: alpha * KL(teacher top-20 || student) + (1 - alpha) * CE on the teacher's traces");
        var studentConfig = WriteTrainConfig(plan.Configs, "student-kd", new JsonObject
        {
            ["student"] = new JsonObject { ["preset"] = "world-student-small", ["tokenizer"] = Path.Combine(plan.Teacher, "tokenizer.json") },
            ["datasets"] = new JsonArray(plan.TeacherTraces),
            ["loss"] = new JsonObject
            {
                ["kind"] = "topk_kd",
                ["top_k"] = 20,
                ["alpha"] = new JsonObject { ["kind"] = "cosine", ["start"] = 0.9, ["end"] = 0.5 },
                ["temperature"] = new JsonObject { ["kind"] = "constant", ["start"] = 1.0 },
            },
            ["optimizer"] = new JsonObject { ["lr"] = 5e-3, ["min_lr_ratio"] = 0.1, ["warmup_steps"] = 20 },
            ["steps"] = plan.StudentSteps,
            ["out"] = plan.Student,
        }, options.Device);
        await RunStepAsync(cli, ct, "train", "--config", studentConfig);

        Stage(console, 5, "specialize the student with LoRA on the demonstrations (base frozen, PEFT adapter)");
        var loraConfig = WriteTrainConfig(plan.Configs, "student-lora", new JsonObject
        {
            ["student"] = new JsonObject { ["model"] = plan.Student },
            ["datasets"] = new JsonArray(plan.Demonstrations),
            ["loss"] = new JsonObject { ["kind"] = "sft" },
            ["lora"] = new JsonObject { ["rank"] = 8, ["alpha"] = 16, ["dropout"] = 0.0, ["target_modules"] = new JsonArray("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj") },
            ["optimizer"] = new JsonObject { ["lr"] = 5e-3, ["min_lr_ratio"] = 0.1, ["warmup_steps"] = 10, ["weight_decay"] = 0.0 },
            ["steps"] = plan.LoraSteps,
            ["out"] = plan.StudentLora,
        }, options.Device);
        await RunStepAsync(cli, ct, "train", "--config", loraConfig);

        Stage(console, 6, "evaluate teacher and students on held-out tasks (tools executed for real)");
        var merged = Path.Combine(plan.StudentLora, TrainerHost.MergedFolder);
        PrintCommand(console, "evaluate", "--config", settings, "--model", $"teacher={plan.Teacher}", "--model", $"student-kd={plan.Student}",
            "--model", $"student-lora={merged}", "--count", Inv(plan.EvalTasks), "--out", plan.Out);
        var report = await EvaluateCommand.RunAsync(cli, new EvaluateCommand.EvaluationRequest(
            [("teacher", plan.Teacher), ("student-kd", plan.Student), ("student-lora", merged)], [], "world:heldout", plan.EvalTasks, "world-agent",
            plan.Out, Concurrency: 8, MaxSteps: 6, Title: "Distill quickstart: teacher vs distilled students on held-out tasks",
            Notes: Summary(plan)), ct);
        console.MarkupLineInterpolated($"[bold green]Quickstart done.[/] Report: {report}");
        return DistillApp.Success;
    }

    private static List<string> Summary(QuickstartPlan plan)
    {
        var demos = DatasetReader.Open(plan.Demonstrations);
        var generated = DatasetReader.Open(plan.TeacherTraces);
        return
        [
            "The embedded teacher is **bootstrapped locally**: a small Llama-style model trained on the world's scripted demonstrations, " +
            "then queried like any API teacher through Distill's OpenAI-compatible server. With a real teacher (Azure OpenAI, vLLM) the same " +
            "stages 3-6 apply unchanged.",
            "",
            "| stage | output | what |",
            "|---|---|---|",
            Inv($"| 1 demonstrations | `{Rel(plan, plan.Demonstrations)}` | {demos.SampleCount} scripted tool-call trajectories ({demos.RejectCount} duplicates dropped) |"),
            Inv($"| 2 teacher | `{Rel(plan, plan.Teacher)}` | world-student preset (~0.8M parameters), SFT; training report `{Rel(plan, Path.Combine(plan.Teacher, "report.md"))}` |"),
            Inv($"| 3 traces | `{Rel(plan, plan.TeacherTraces)}` | {generated.SampleCount} accepted traces with top-20 logprobs, {generated.RejectCount} rejected (`distill dataset stats`) |"),
            Inv($"| 4 student-kd | `{Rel(plan, plan.Student)}` | world-student-small (~0.2M parameters), top-20 logit KD + CE; report `{Rel(plan, Path.Combine(plan.Student, "report.md"))}` |"),
            Inv($"| 5 student-lora | `{Rel(plan, plan.StudentLora)}` | LoRA r=8 on all projections over the demonstrations; merged model in `merged/` |"),
            "",
            "Re-run any stage by hand with the commands in `configs/` and `appsettings.json` of this folder (`distill train --config configs/teacher.json`, ...).",
            "",
        ];
    }

    private static string Rel(QuickstartPlan plan, string path) => Path.GetRelativePath(plan.Out, path);

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string Inv(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static void Stage(IAnsiConsole console, int number, string what)
    {
        console.WriteLine();
        console.MarkupLineInterpolated($"[bold]Stage {number}/6[/]: {what}");
    }

    private static void PrintCommand(IAnsiConsole console, params string[] args) =>
        console.MarkupLineInterpolated($"[grey]$ distill {string.Join(' ', args.Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"\"{a}\"" : a))}[/]");

    /// <summary>Runs one ordinary `distill` command; its own error line has been printed when it fails, so this only stops the pipeline.</summary>
    private static async Task RunStepAsync(CliContext cli, CancellationToken ct, params string[] args)
    {
        PrintCommand(cli.Console, args);
        var full = cli.Verbose ? args.Prepend("--verbose").ToArray() : args;
        var code = await DistillApp.RunAsync(full, cli.Console, cli.Error, ct);
        if (code == DistillApp.Cancelled) throw new OperationCanceledException();
        if (code != DistillApp.Success) throw new QuickstartStepFailedException(code, args[0]);
    }

    private static string WriteTrainConfig(string dir, string name, JsonObject specific, string device)
    {
        var config = new JsonObject
        {
            ["name"] = $"quickstart-{name}",
            ["data"] = new JsonObject { ["max_length"] = 1024, ["batching"] = "bucket", ["validation_fraction"] = 0.05 },
            ["batch"] = new JsonObject { ["size"] = 8 },
            ["eval"] = new JsonObject { ["every"] = 50, ["batches"] = 4, ["patience"] = 0 },
            ["checkpoint_every"] = 25,
            ["log_every"] = 10,
            ["seed"] = 42,
            ["device"] = device,
        };
        foreach (var (key, value) in specific) config[key] = value?.DeepClone();
        var path = Path.Combine(dir, $"{name}.json");
        File.WriteAllText(path, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return path;
    }

    private static void WriteSettings(string path, string prompts, string cache, string device, Distill.Teachers.TeacherOptions? teacher)
    {
        var teachers = new JsonArray();
        if (teacher is not null)
        {
            teachers.Add(new JsonObject
            {
                ["Name"] = teacher.Name,
                ["Provider"] = teacher.Provider,
                ["Endpoint"] = teacher.Endpoint,
                ["Model"] = teacher.Model,
                ["TokenizerId"] = teacher.TokenizerId,
                ["MaxConcurrency"] = teacher.MaxConcurrency,
                ["AttemptTimeout"] = teacher.AttemptTimeout.ToString("c", CultureInfo.InvariantCulture),
                ["TotalTimeout"] = teacher.TotalTimeout.ToString("c", CultureInfo.InvariantCulture),
                ["MaxRetries"] = teacher.MaxRetries,
            });
        }
        var settings = new JsonObject
        {
            ["Paths"] = new JsonObject { ["Prompts"] = prompts, ["Cache"] = cache },
            ["Device"] = device,
            ["Teachers"] = teachers,
        };
        File.WriteAllText(path, settings.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>A stage's command failed after printing its own error line; the quickstart exits with the same code.</summary>
    public sealed class QuickstartStepFailedException(int exitCode, string command)
        : Exception($"distill {command} failed with exit code {exitCode}")
    {
        public int ExitCode { get; } = exitCode;
    }
}
