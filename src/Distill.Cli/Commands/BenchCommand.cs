using System.CommandLine;
using Distill.Bench;
using TorchSharp;
using Spectre.Console;

namespace Distill.Cli.Commands;

/// <summary>
/// `distill bench ...`: measurements whose ratios are taken side by side in one run (these machines are noisy). The measuring
/// code lives in Distill.Bench; this class only parses options and prints tables.
/// </summary>
public static class BenchCommand
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var command = new Command("bench", "Benchmarks; each prints ratios measured side by side in one run (see docs/benchmarks.md).");
        command.Subcommands.Add(Dataset(context));
        command.Subcommands.Add(Model(context));
        command.Subcommands.Add(Serve(context));
        command.Subcommands.Add(Generate(context));
        command.Subcommands.Add(Train(context));
        command.Subcommands.Add(Studio(context));
        command.Subcommands.Add(Templates(context));
        command.Subcommands.Add(QualityBenchmark.Create(context));
        return command;
    }

    private static Command Train(Func<ParseResult, CliContext> context)
    {
        var batch = new Option<int>("--batch") { Description = "Sequences per step.", DefaultValueFactory = _ => 4 };
        var length = new Option<int>("--length") { Description = "Tokens per sequence.", DefaultValueFactory = _ => 256 };
        var steps = new Option<int>("--steps") { Description = "Rounds of one timed step per variant (interleaved; the fastest step counts).", DefaultValueFactory = _ => 5 };
        var command = new Command("train", "Step time and peak memory of the training objectives (sft, topk_kd, online_kd) as `distill train` runs them, at vocabulary 32k; SFT MFU.") { batch, length, steps };
        command.SetAction(parse =>
        {
            var cli = context(parse);
            var device = Composition.DeviceSelection.Resolve(cli.Options.Device);
            var result = TrainingBenchmark.Run(device, parse.GetValue(batch), parse.GetValue(length), parse.GetValue(steps));
            var table = new Table().RoundedBorder().AddColumn("step").AddColumn(new TableColumn("seconds").RightAligned())
                .AddColumn(new TableColumn("tokens/s").RightAligned()).AddColumn(new TableColumn("peak MB over baseline").RightAligned());
            foreach (var v in result.Variants)
            {
                table.AddRow(Markup.Escape(v.Name), $"{v.StepSeconds:F3}", $"{v.TokensPerSecond:N0}", $"{v.PeakMegabytes:N0}");
            }
            cli.Console.Write(table);
            var (sft, sparse, sftTeacher, sftTeacherBody, online) = (result[TrainingBenchmark.Row.Sft], result[TrainingBenchmark.Row.TopKKd],
                result[TrainingBenchmark.Row.SftPlusTeacherForward], result[TrainingBenchmark.Row.SftPlusTeacherBody], result[TrainingBenchmark.Row.OnlineKd]);
            cli.Console.MarkupLine($"student {result.StudentParameters / 1e6:F1}M, teacher {result.TeacherParameters / 1e6:F1}M parameters, vocabulary 32,000, {device.type}");
            cli.Console.MarkupLine($"SFT MFU: [bold]{result.SftMfu:P0}[/] of {result.MatmulGflops:F0} GFLOP/s measured in this run (target >= 60%)");
            cli.Console.MarkupLine($"SFT MFU, same student body at vocabulary {result.SmallVocab:N0} ({result.SmallStudentParameters / 1e6:F1}M parameters): [bold]{result.SmallVocabSftMfu:P0}[/]");
            cli.Console.MarkupLine($"sparse top-20 KD / SFT step time: [bold]{sparse.StepSeconds / sft.StepSeconds:F2}x[/] (target <= 1.15x)");
            cli.Console.MarkupLine($"online KD / (SFT + teacher forward to logits) step time: [bold]{online.StepSeconds / sftTeacher.StepSeconds:F2}x[/] (target <= 1.3x)");
            // Stricter: online KD also projects the teacher's labelled positions through its head, which this reference leaves out.
            cli.Console.MarkupLine($"online KD / (SFT + the teacher's body, no head) step time: [bold]{online.StepSeconds / sftTeacherBody.StepSeconds:F2}x[/]");
            cli.Console.MarkupLine($"peak memory, online KD / SFT: [bold]{online.PeakMegabytes / sft.PeakMegabytes:F2}x[/] (target <= 1.2x)");
            return DistillApp.Success;
        });
        return command;
    }

    private static Command Studio(Func<ParseResult, CliContext> context)
    {
        var rows = new Option<int>("--rows") { Description = "Rows in the dataset (2 % written as rejects); a dataset of this size left by an earlier run is reused.", DefaultValueFactory = _ => 100_000 };
        var folder = new Option<string>("--dir") { Description = "Folder for the dataset.", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "distill-bench-studio") };
        var studioDll = new Option<string?>("--studio-dll") { Description = "Another build's distill.dll to run as the studio (a before/after comparison on the same dataset); default this one." };
        var command = new Command("studio", "`distill studio` in its own process over N synthetic tool-trace rows: first page cold and warm, filtered pages, search, and the process's memory.") { rows, folder, studioDll };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var cli = context(parse);
            var count = parse.GetValue(rows);
            StudioBenchmark.Result? result = null;
            await cli.Console.Status().StartAsync($"Preparing {count:N0} rows...", async status =>
                result = await StudioBenchmark.RunAsync(parse.GetValue(folder)!, count, data => StudioProcess(parse.GetValue(studioDll), data),
                    line => status.Status(Markup.Escape(line)), cancellationToken));
            var r = result!;
            var table = new Table().RoundedBorder().AddColumn("request").AddColumn(new TableColumn("seconds").RightAligned()).AddColumn(new TableColumn("matched").RightAligned());
            foreach (var q in r.Requests) table.AddRow(Markup.Escape(q.Name), $"{q.Seconds:F2}", $"{q.Total:N0}");
            cli.Console.Write(table);
            cli.Console.MarkupLine($"{r.Rows:N0} rows ({r.Rejects:N0} rejects), {r.DatasetBytes / 1e9:F2} GB of shards" + (r.WriteSeconds > 0 ? $", written in {r.WriteSeconds:F0} s" : ", reused"));
            var warm = r.Requests.Skip(2).Where(q => !q.Name.Contains("search", StringComparison.Ordinal)).Max(q => q.Seconds);
            cli.Console.MarkupLine($"cold first page: [bold]{r.Requests[0].Seconds:F2} s[/] ({r.Requests[0].Total:N0} rows read by then); whole list read after {r.Requests[1].Seconds:F1} s; " +
                $"slowest page after that (first, filtered, last): [bold]{warm:F2} s[/] (target < 1 s at 1M rows)");
            cli.Console.MarkupLine($"studio process memory: [bold]{r.ResidentBytes / 1048576.0:N0} MB[/] resident after the requests, peak {r.PeakResidentBytes / 1048576.0:N0} MB (target < 500 MB at 1M rows)");
            return DistillApp.Success;
        });
        return command;
    }

    private static Command Templates(Func<ParseResult, CliContext> context)
    {
        var rows = new Option<int>("--rows") { Description = "Rows in the dataset (the rows of `bench studio`, 2 % rejects); a dataset of this size left by an earlier run is reused.", DefaultValueFactory = _ => 100_000 };
        var folder = new Option<string>("--dir") { Description = "Folder for the dataset (`bench studio` uses the same layout, so one dataset serves both).", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "distill-bench-studio") };
        var command = new Command("templates", "`distill templates stats` over N synthetic tool-trace rows, and DuckDB computing the same aggregates over the same shards (a build with -p:BenchDuckDb=true).") { rows, folder };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var cli = context(parse);
            var count = parse.GetValue(rows);
            TemplateStatsBenchmark.Result? result = null;
            await cli.Console.Status().StartAsync($"Preparing {count:N0} rows...", async status =>
                result = await TemplateStatsBenchmark.RunAsync(parse.GetValue(folder)!, count, line => status.Status(Markup.Escape(line)), cancellationToken));
            var r = result!;
            var table = new Table().RoundedBorder().AddColumn("").AddColumn(new TableColumn("seconds").RightAligned()).AddColumn(new TableColumn("CPU seconds").RightAligned())
                .AddColumn(new TableColumn("attempted").RightAligned()).AddColumn(new TableColumn("accepted").RightAligned())
                .AddColumn(new TableColumn("distinct-1 / -2").RightAligned());
            void Row(string name, TemplateStatsBenchmark.Side side) => table.AddRow(name, $"{side.Seconds:F1}", $"{side.CpuSeconds:F1}", $"{side.Attempted:N0}",
                $"{side.Accepted:N0}", $"{side.Distinct1:G4} / {side.Distinct2:G4}");
            Row("templates stats", r.Ours);
            if (r.DuckDb is { } duck) Row("DuckDB, same aggregates", duck);
            cli.Console.Write(table);
            cli.Console.MarkupLine($"{r.Rows:N0} rows" + (r.WriteSeconds > 0 ? $", written in {r.WriteSeconds:F0} s" : ", reused") +
                $"; peak working set after templates stats: {r.OursPeakWorkingSet / 1048576.0:N0} MB");
            cli.Console.MarkupLine(r.DuckDb is { } d
                ? $"templates stats / DuckDB time: [bold]{r.Ours.Seconds / d.Seconds:F2}x[/] (target <= 2x; {Environment.ProcessorCount} cores for both; DuckDB has no MinHash, so only templates stats finds near-duplicates)"
                : "DuckDB is not part of this build: build the CLI with -p:BenchDuckDb=true for the comparison");
            return DistillApp.Success;
        });
        return command;
    }

    /// <summary>
    /// `distill studio --data DIR --port 0`: this very CLI (through `dotnet` when that is how it was started), or the given
    /// distill.dll of another build.
    /// </summary>
    private static System.Diagnostics.ProcessStartInfo StudioProcess(string? otherDll, string data)
    {
        var self = Environment.ProcessPath ?? "dotnet";
        var dotnet = Path.GetFileNameWithoutExtension(self) == "dotnet";
        var start = new System.Diagnostics.ProcessStartInfo(otherDll is not null && !dotnet ? "dotnet" : self)
            { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (otherDll is not null) start.ArgumentList.Add(Path.GetFullPath(otherDll));
        else if (dotnet) start.ArgumentList.Add(typeof(BenchCommand).Assembly.Location);
        foreach (var a in new[] { "studio", "--data", data, "--port", "0" }) start.ArgumentList.Add(a);
        return start;
    }

    private static Command Generate(Func<ParseResult, CliContext> context)
    {
        var requests = new Option<int>("--requests") { Description = "Requests for the overhead measurement.", DefaultValueFactory = _ => 2000 };
        var rpm = new Option<int>("--rpm") { Description = "Requests-per-minute limit the test server enforces.", DefaultValueFactory = _ => 600 };
        var seconds = new Option<int>("--seconds") { Description = "Duration of the rate measurement (over a minute, so the server's one-minute window slides).", DefaultValueFactory = _ => 75 };
        var scaling = new Option<int?>("--scaling") { Description = "Instead: run the real generation runner (cot, concurrency 64) over this many templated tasks against an instant in-process teacher and print the rate per tenth of the run." };
        var batch = new Option<int?>("--batch") { Description = "Instead: run `generate --batch`'s machinery (cot over templated tasks) for this many requests against an in-process fake Files + Batch API that fails 5% and expires 2% of first submissions; print rounds, accounting and the overhead over the fake's processing time." };
        var lineMs = new Option<double>("--batch-line-ms") { Description = "With --batch: the fake provider's simulated processing time per request line, in milliseconds.", DefaultValueFactory = _ => 1.0 };
        var batchMaxRequests = new Option<int>("--batch-max-requests") { Description = "With --batch: requests per uploaded file (the real default is 50,000).", DefaultValueFactory = _ => 2_500 };
        var command = new Command("generate", "Teacher gateway overhead per request at concurrency 64 (vs the bare client), and achieved rate under a server-enforced RPM limit.") { requests, rpm, seconds, scaling, batch, lineMs, batchMaxRequests };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var cli = context(parse);
            if (parse.GetValue(scaling) is { } scalingTasks)
            {
                await GenerationScaling(cli, scalingTasks, cancellationToken);
                return DistillApp.Success;
            }
            if (parse.GetValue(batch) is { } batchRequests)
            {
                await BatchGeneration(cli, batchRequests, TimeSpan.FromMilliseconds(parse.GetValue(lineMs)), parse.GetValue(batchMaxRequests), cancellationToken);
                return DistillApp.Success;
            }
            Distill.Teachers.TeacherOptions Options(Uri endpoint) => new()
            {
                Name = "bench",
                Provider = Distill.Teachers.TeacherProviders.OpenAICompatible,
                Endpoint = endpoint.ToString(),
                Model = "bench",
            };
            GatewayOverheadResult overhead;
            await using (var fast = await BenchTeacherServer.StartAsync(TimeSpan.Zero, rpm: null))
            {
                overhead = await GatewayOverheadBenchmark.MeasureOverheadAsync(Options(fast.Endpoint), parse.GetValue(requests), 64,
                    cancellationToken: cancellationToken);
            }
            var limit = parse.GetValue(rpm);
            GatewayRateResult rate;
            int rejected;
            await using (var limited = await BenchTeacherServer.StartAsync(TimeSpan.FromMilliseconds(200), limit))
            {
                var options = Options(limited.Endpoint);
                options.Rpm = limit;
                rate = await GatewayOverheadBenchmark.MeasureRateAsync(options, TimeSpan.FromSeconds(parse.GetValue(seconds)), 64,
                    cancellationToken: cancellationToken);
                rejected = limited.Rejected;
            }
            var table = new Table().RoundedBorder().AddColumn("run").AddColumn(new TableColumn("requests").RightAligned())
                .AddColumn(new TableColumn("req/s").RightAligned()).AddColumn(new TableColumn("p50 ms").RightAligned()).AddColumn(new TableColumn("p99 ms").RightAligned());
            foreach (var s in new[] { overhead.Bare, overhead.Gateway, rate.Stats })
            {
                table.AddRow(Markup.Escape(s.Scenario), $"{s.Completed:N0}", $"{s.RequestsPerSecond:N0}", $"{s.LatencyP50Ms:F2}", $"{s.LatencyP99Ms:F2}");
            }
            cli.Console.Write(table);
            cli.Console.MarkupLine($"gateway overhead at concurrency 64: [bold]{overhead.OverheadPerRequestUs / 1000:F3} ms[/] per request (target <= 1 ms); gateway/bare throughput {overhead.Gateway.RequestsPerSecond / overhead.Bare.RequestsPerSecond:F2}x");
            cli.Console.MarkupLine($"under a {limit} RPM server limit with 200 ms latency: achieved [bold]{rate.AchievedRpm:F0} RPM = {rate.Utilization:P1}[/] of the limit (target >= 95%), 429s seen: [bold]{rejected}[/] (target 0)");
            return DistillApp.Success;
        });
        return command;
    }

    private static async Task GenerationScaling(CliContext cli, int tasks, CancellationToken cancellationToken)
    {
        if (tasks < 10) throw new Distill.Core.Errors.DistillException("--scaling needs at least 10 tasks", "e.g. --scaling 10000");
        var template = Distill.Generation.Templates.TemplateLibrary.LoadAndLint(cli.Options.Paths.PromptsFolder()).Get("cot-answer");
        var folder = Path.Combine(Path.GetTempPath(), "distill-bench-generate-scaling");
        var result = await Distill.Generation.Runner.GenerationScalingBenchmark.RunAsync(template, folder, tasks, concurrency: 64, cancellationToken);
        Directory.Delete(folder, recursive: true);
        var table = new Table().RoundedBorder().AddColumn("tasks").AddColumn(new TableColumn("accepted").RightAligned())
            .AddColumn(new TableColumn("seconds").RightAligned()).AddColumn(new TableColumn("samples/s").RightAligned());
        foreach (var s in result.Tenths)
        {
            table.AddRow($"{s.FirstTask + 1:N0}-{s.LastTask:N0}", $"{s.Accepted:N0}", $"{s.Seconds:F2}", $"{s.SamplesPerSecond:N0}");
        }
        cli.Console.Write(table);
        cli.Console.MarkupLine($"{result.Tasks:N0} templated cot tasks ({result.Accepted:N0} accepted) in {result.Seconds:F1} s = [bold]{result.SamplesPerSecond:N0} samples/s[/]; "
            + $"last tenth / first tenth rate: [bold]{result.LastOverFirst:F2}[/] (target >= 0.8); peak working set {result.PeakWorkingSetMb:N0} MB, managed heap {result.ManagedHeapMb:N0} MB");
    }

    private static async Task BatchGeneration(CliContext cli, int requests, TimeSpan lineTime, int maxRequestsPerFile, CancellationToken cancellationToken)
    {
        if (requests < 10) throw new Distill.Core.Errors.DistillException("--batch needs at least 10 requests", "e.g. --batch 10000");
        if (lineTime <= TimeSpan.Zero || maxRequestsPerFile < 1)
            throw new Distill.Core.Errors.DistillException("--batch-line-ms and --batch-max-requests must be positive", "e.g. --batch-line-ms 1 --batch-max-requests 2500");
        var template = Distill.Generation.Templates.TemplateLibrary.LoadAndLint(cli.Options.Paths.PromptsFolder()).Get("cot-answer");
        var folder = Path.Combine(Path.GetTempPath(), "distill-bench-generate-batch");
        var r = await BatchGenerationBenchmark.RunAsync(template, folder, requests, lineTime, maxRequestsPerFile, cancellationToken);
        Directory.Delete(folder, recursive: true);
        // One row per measure: the eleven figures do not fit side by side in an 80-column terminal.
        var table = new Table().RoundedBorder().AddColumn("measure").AddColumn(new TableColumn("value").RightAligned());
        table.AddRow("requests", $"{r.Tasks:N0}");
        table.AddRow("rounds", $"{r.Batch.Rounds}");
        table.AddRow("files (batches)", $"{r.Batch.Files}");
        table.AddRow("lines submitted", $"{r.Batch.Submitted:N0}");
        table.AddRow("accepted", $"{r.Accepted:N0}");
        table.AddRow("rejected", $"{r.Rejected:N0}" + (r.RejectReasons.Count > 0 ? Markup.Escape($" ({string.Join(", ", r.RejectReasons.Select(k => $"{k.Key}: {k.Value}"))})") : ""));
        table.AddRow("uncommitted", $"{r.Uncommitted:N0}");
        table.AddRow("accepted + rejected == tasks", r.Accounted ? "yes" : "[red]no[/]");
        table.AddRow("fake processing s", $"{r.FakeSeconds:F2}");
        table.AddRow("total s", $"{r.TotalSeconds:F2}");
        table.AddRow("  before the first batch s", $"{r.BeforeFirstBatchSeconds:F2}");
        table.AddRow("  after the last batch s", $"{r.AfterLastBatchSeconds:F2}");
        table.AddRow("overhead %", $"{r.OverheadFraction * 100:F1}");
        cli.Console.Write(table);
        var options = BatchGenerationBenchmark.Options;
        cli.Console.MarkupLine($"injected on first submission: {r.InjectedFailed:N0} failed (HTTP 500) + {r.InjectedExpired:N0} expired lines, re-queued: {r.Batch.Resubmitted:N0}; dataset rows {r.RowsInDataset:N0}; "
            + $"fake: {lineTime.TotalMilliseconds:G} ms per line, {maxRequestsPerFile:N0} requests per file; polls {options.PollDelay.TotalMilliseconds:F0} ms doubling to {options.PollMaxDelay.TotalMilliseconds:F0} ms, collect window {options.CollectWindow.TotalMilliseconds:F0} ms");
        cli.Console.MarkupLine($"overhead over the fake's processing time: [bold]{r.OverheadFraction:P1}[/] (target < 5%); every task accounted for: [bold]{(r.Accounted ? "yes" : "no")}[/]");
    }

    private static Command Serve(Func<ParseResult, CliContext> context)
    {
        var preset = new Option<string>("--preset") { Description = "Model preset, randomly initialised (world-student: the quickstart's teacher).", DefaultValueFactory = _ => "world-student" };
        var requests = new Option<int>("--requests") { Description = "Concurrent greedy chat requests per round.", DefaultValueFactory = _ => 64 };
        var tokens = new Option<int>("--tokens") { Description = "max_tokens of each request.", DefaultValueFactory = _ => 64 };
        var batch = new Option<int>("--batch") { Description = "Rows per decoded batch (Serve:MaxBatchSize).", DefaultValueFactory = _ => 8 };
        var workers = new Option<int>("--workers") { Description = "Copies of the model in the parallel rounds (0: Serve:DecodeWorkers' automatic choice for the device).", DefaultValueFactory = _ => 0 };
        var rounds = new Option<int>("--rounds") { Description = "Alternating rounds of one copy vs all copies; the fastest of each counts.", DefaultValueFactory = _ => 3 };
        var command = new Command("serve", "The serving engine on many concurrent requests: one copy of the model vs Serve:DecodeWorkers copies decoding in parallel.") { preset, requests, tokens, batch, workers, rounds };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var cli = context(parse);
            var device = Composition.DeviceSelection.Resolve(cli.Options.Device);
            var copies = Distill.Server.Hosting.ServeOptions.ResolveDecodeWorkers(parse.GetValue(workers), onCpu: device.type == DeviceType.CPU);
            var corpus = Enumerable.Range(0, 200).Select(i => $"Where is order A{10000 + 37 * i}? I ordered it on day {i % 28 + 1}. It shipped and is on its way.");
            var tokenizer = Distill.Models.Tokenization.TokenizerLoader.Create(Distill.Models.Tokenization.BpeTrainer.Train(corpus, 512, Distill.Models.Tokenization.ChatTokens.All));
            var config = Distill.Models.Llama.ModelPresets.Get(parse.GetValue(preset)!, tokenizer.VocabSize);
            var replicas = Enumerable.Range(0, copies).Select(_ =>
            {
                torch.manual_seed(0); // every copy the same weights, as loading one folder twice gives
                return new Distill.Models.Llama.LlamaForCausalLM(config, device).Freeze();
            }).ToList();
            try
            {
                IReadOnlyList<ServeBenchmark.Round> results = [];
                await cli.Console.Status().StartAsync($"Decoding {parse.GetValue(requests)} concurrent requests with 1 and {copies} copies...", async _ =>
                    results = await ServeBenchmark.RunAsync(replicas, tokenizer, parse.GetValue(requests), parse.GetValue(tokens), parse.GetValue(batch), Math.Max(1, parse.GetValue(rounds))));
                var table = new Table().RoundedBorder().AddColumn("copies").AddColumn(new TableColumn("requests").RightAligned())
                    .AddColumn(new TableColumn("completion tokens").RightAligned()).AddColumn(new TableColumn("seconds").RightAligned()).AddColumn(new TableColumn("tokens/s").RightAligned());
                foreach (var r in results)
                {
                    table.AddRow($"{r.Workers}", $"{r.Requests}", $"{r.CompletionTokens:N0}", $"{r.Seconds:F2}", $"{r.TokensPerSecond:N0}");
                }
                cli.Console.Write(table);
                var one = results.Where(r => r.Workers == 1).Max(r => r.TokensPerSecond);
                var all = results.Where(r => r.Workers == copies).Max(r => r.TokensPerSecond);
                cli.Console.MarkupLine($"model: {Markup.Escape(parse.GetValue(preset)!)} ({replicas[0].ParameterCount / 1e6:F2}M params) on {device.type}, batch {parse.GetValue(batch)}, {Environment.ProcessorCount} cores");
                cli.Console.MarkupLine($"{copies} copies / 1 copy, best round each: [bold]{all / one:F2}x[/] the tokens per second");
            }
            finally
            {
                foreach (var replica in replicas) replica.Dispose();
            }
            return DistillApp.Success;
        });
        return command;
    }

    private static Command Model(Func<ParseResult, CliContext> context)
    {
        var tokens = new Option<int>("--tokens") { Description = "Tokens to generate per decode measurement.", DefaultValueFactory = _ => 256 };
        var steps = new Option<int>("--steps") { Description = "Rounds of one matmul trial and one timed training-shape step (the fastest step counts).", DefaultValueFactory = _ => 5 };
        var rounds = new Option<int>("--rounds") { Description = "Alternating rounds of cached and recomputed decoding; the fastest of each counts.", DefaultValueFactory = _ => 5 };
        var command = new Command("model", "Decode with vs without KV cache, batched decode at batch 1/8/32, training-shape forward+backward MFU.") { tokens, steps, rounds };
        command.SetAction(parse =>
        {
            var cli = context(parse);
            var device = Composition.DeviceSelection.Resolve(cli.Options.Device);
            var newTokens = parse.GetValue(tokens);
            torch.manual_seed(0);
            var decodeConfig = Distill.Models.Llama.ModelPresets.Get("world-teacher");
            using var model = new Distill.Models.Llama.LlamaForCausalLM(decodeConfig, device).Freeze(); // as serving loads it
            var table = new Table().RoundedBorder().AddColumn("measurement").AddColumn(new TableColumn("tokens/s").RightAligned()).AddColumn(new TableColumn("seconds").RightAligned());
            var (cached, uncached) = ModelBenchmark.CacheVersusRecompute(model, device, newTokens, Math.Max(1, parse.GetValue(rounds)));
            var batched = new[] { 1, 8, 32 }.Select(b => ModelBenchmark.BatchedDecode(model, b, newTokens)).ToList();
            foreach (var r in new[] { cached, uncached }.Concat(batched))
            {
                table.AddRow(Markup.Escape(r.Name), $"{r.TokensPerSecond:N0}", $"{r.Seconds:F2}");
            }
            var shape = ModelBenchmark.TrainingShape(ModelBenchmark.TenMillion(), device, batch: 8, sequenceLength: 256, steps: parse.GetValue(steps));
            table.AddRow($"train fwd+bwd+AdamW, {shape.Parameters / 1e6:F1}M params, 8x256", $"{shape.TokensPerSecond:N0}", $"{shape.StepSeconds:F2}");
            cli.Console.Write(table);
            cli.Console.MarkupLine($"model: world-teacher ({model.ParameterCount / 1e6:F1}M params) on {device.type}, {newTokens} new tokens");
            cli.Console.MarkupLine($"KV cache speed-up: [bold]{uncached.Seconds / cached.Seconds:F1}x[/] (target >= 10x)");
            cli.Console.MarkupLine($"batched decode throughput, batch 8 / batch 1: [bold]{batched[1].TokensPerSecond / batched[0].TokensPerSecond:F1}x[/], batch 32 / batch 1: [bold]{batched[2].TokensPerSecond / batched[0].TokensPerSecond:F1}x[/] (must grow)");
            cli.Console.MarkupLine($"training shape: {shape.AchievedGflops:F1} GFLOP/s vs matmul {shape.MatmulGflops:F1} GFLOP/s measured in this run: MFU [bold]{shape.Mfu:P0}[/] (target >= 60%)");
            return DistillApp.Success;
        });
        return command;
    }

    private static Command Dataset(Func<ParseResult, CliContext> context)
    {
        var rows = new Option<int>("--rows") { Description = "Tool-trace samples to write and read.", DefaultValueFactory = _ => 100_000 };
        var folder = new Option<string>("--dir") { Description = "Scratch dataset folder (deleted first).", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "distill-bench-dataset") };
        var currentOnly = new Option<bool>("--current-only") { Description = "Only the current compact layout (schema 4): for runs too large to write three times (a million nested rows take ~63 GB)." };
        var readExisting = new Option<string?>("--read") { Description = "Instead: only read this existing dataset folder, ours and DuckDB's .NET read, in a fresh process (as `distill train` reads one)." };
        var command = new Command("dataset", "Write, validate and read realistic tool-trace rows (top-20 logprobs per assistant token) in the nested and the two compact shard layouts; compare with DuckDB.") { rows, folder, currentOnly, readExisting };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var cli = context(parse);
            if (parse.GetValue(readExisting) is { } existing)
            {
                var r = await DatasetBenchmark.ReadExistingAsync(existing, cancellationToken);
                cli.Console.MarkupLine(Markup.Escape($"{r.Format}: {r.Rows:N0} rows, {r.BytesPerRow:N0} bytes/row; read (ours) {r.ReadRowsPerSecond:N0} rows/s wall, {r.ReadRowsPerCpuSecond:N0} per CPU second"));
                if (r.DuckDbReadSeconds is { } duckRead)
                    cli.Console.MarkupLine($"DuckDB → .NET values (1 thread) {r.DuckDbReadRowsPerSecond:N0} rows/s wall, {r.DuckDbReadRowsPerCpuSecond:N0} per CPU second; "
                        + $"read time ours / DuckDB: wall [bold]{r.ReadSeconds / duckRead:F2}x[/], CPU {r.ReadCpuSeconds / r.DuckDbReadCpuSeconds:F2}x (target <= 1.5x)");
                else
                    cli.Console.MarkupLine("no DuckDB comparison: this distill was built without DuckDB (build it with -p:BenchDuckDb=true)");
                return DistillApp.Success;
            }
            var count = parse.GetValue(rows);
            IReadOnlyList<DatasetBenchmark.FormatResult> results = [];
            var started = DateTime.UtcNow;
            await cli.Console.Status().StartAsync($"Writing, validating and reading {count:N0} rows in each layout...", async _ =>
                results = await DatasetBenchmark.RunAsync(parse.GetValue(folder)!, count, cancellationToken, parse.GetValue(currentOnly)));
            var elapsed = DateTime.UtcNow - started;
            static string Rate(double? perSecond) => perSecond is { } r ? $"{r:N0}" : "-";
            static string Rates(double? wall, double? cpu) => $"{Rate(wall)} / {Rate(cpu)}";
            var table = new Table().RoundedBorder().AddColumn("layout").AddColumn(new TableColumn("rows").RightAligned())
                .AddColumn(new TableColumn("bytes/row").RightAligned()).AddColumn(new TableColumn("write rows/s wall / CPU").RightAligned())
                .AddColumn(new TableColumn("read rows/s wall / CPU").RightAligned()).AddColumn(new TableColumn("DuckDB → .NET rows/s wall / CPU").RightAligned())
                .AddColumn(new TableColumn("DuckDB scan rows/s").RightAligned());
            foreach (var r in results)
            {
                table.AddRow(Markup.Escape(r.Format), $"{r.Rows:N0}", $"{r.BytesPerRow:N0}", Rates(r.WriteRowsPerSecond, r.WriteRowsPerCpuSecond),
                    Rates(r.ReadRowsPerSecond, r.ReadRowsPerCpuSecond), Rates(r.DuckDbReadRowsPerSecond, r.DuckDbReadRowsPerCpuSecond), Rate(r.Rows / r.DuckDbScanSeconds));
            }
            cli.Console.Write(table);
            var compact = results[^1];
            cli.Console.MarkupLine($"compact (schema 4) validate (`dataset validate`'s checks): {compact.Rows / compact.ValidateSeconds:N0} rows/s wall, {compact.Rows / compact.ValidateCpuSeconds:N0} per CPU second; " +
                $"whole run {elapsed.TotalMinutes:F1} min, process peak working set {compact.PeakWorkingSetBytes / (1024.0 * 1024 * 1024):F2} GB");
            if (results.Count < 3)
            {
                cli.Console.MarkupLine($"compact (schema 4) write: [bold]{compact.WriteRowsPerSecond:N0}[/] rows/s wall, {compact.WriteRowsPerCpuSecond:N0} per CPU second (target >= 3,000)");
                cli.Console.MarkupLine($"not in the write times: generating the synthetic samples, {compact.Rows / compact.GenerateSeconds:N0} rows/s wall, {compact.Rows / compact.GenerateCpuSeconds:N0} per CPU second");
                if (compact.DuckDbReadSeconds is { } duck)
                    cli.Console.MarkupLine($"read time ours / DuckDB(.NET values, 1 thread): wall [bold]{compact.ReadSeconds / duck:F2}x[/], CPU {compact.ReadCpuSeconds / compact.DuckDbReadCpuSeconds:F2}x (target <= 1.5x)");
                return DistillApp.Success;
            }
            var (nested, v3) = (results[0], results[1]);
            cli.Console.MarkupLine($"compact (schema 4) vs nested: [bold]{nested.BytesPerRow / compact.BytesPerRow:F1}x[/] smaller (target >= 5x; schema 3: {nested.BytesPerRow / v3.BytesPerRow:F1}x); write {compact.WriteRowsPerCpuSecond / nested.WriteRowsPerCpuSecond:F1}x and read {compact.ReadRowsPerCpuSecond / nested.ReadRowsPerCpuSecond:F1}x the nested rows per CPU second");
            cli.Console.MarkupLine($"compact (schema 4) write: [bold]{compact.WriteRowsPerSecond:N0}[/] rows/s wall, {compact.WriteRowsPerCpuSecond:N0} per CPU second (target >= 3,000); schema 3: {v3.WriteRowsPerSecond:N0} wall, {v3.WriteRowsPerCpuSecond:N0} per CPU second");
            cli.Console.MarkupLine($"not in the write times: generating the synthetic samples, {compact.Rows / compact.GenerateSeconds:N0} rows/s wall, {compact.Rows / compact.GenerateCpuSeconds:N0} per CPU second");
            if (compact.DuckDbReadSeconds is { } duckCompact && nested.DuckDbReadSeconds is { } duckNested && v3.DuckDbReadSeconds is { } duckV3)
                cli.Console.MarkupLine($"read time ours / DuckDB(.NET values, 1 thread), wall: schema 4 [bold]{compact.ReadSeconds / duckCompact:F2}x[/] (target <= 1.5x), schema 3 {v3.ReadSeconds / duckV3:F2}x, nested {nested.ReadSeconds / duckNested:F2}x; " +
                    $"CPU: schema 4 {compact.ReadCpuSeconds / compact.DuckDbReadCpuSeconds:F2}x, schema 3 {v3.ReadCpuSeconds / v3.DuckDbReadCpuSeconds:F2}x, nested {nested.ReadCpuSeconds / nested.DuckDbReadCpuSeconds:F2}x");
            else
                cli.Console.MarkupLine("no DuckDB comparison: this distill was built without DuckDB (build it with -p:BenchDuckDb=true)");
            return DistillApp.Success;
        });
        return command;
    }
}
