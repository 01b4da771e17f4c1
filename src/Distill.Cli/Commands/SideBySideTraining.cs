using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Distill.Core.Errors;
using Spectre.Console;

namespace Distill.Cli.Commands;

/// <summary>
/// Trains several configs at once on the CPU, each in a `distill train` process of its own with an equal share of the cores as
/// libtorch threads. The quickstart's students are small enough that a second thread adds only about 60 % to one
/// (16k-token steps of a 142k-parameter model: ~24-29k tokens/s on one thread, ~39-40k on two, 2 cores), so two or three
/// students side by side on one thread each finish sooner than one after another on two (docs/benchmarks.md, "Students side
/// by side"). Processes rather than threads: the trainer seeds libtorch's process-wide generator, so two trainers in one
/// process would not be reproducible. Each process writes its log beside the configs; progress is read from its step lines.
/// A failed or cancelled run stops the others; every run resumes from its checkpoint when the quickstart is run again.
/// </summary>
public static partial class SideBySideTraining
{
    /// <summary>libtorch threads each of <paramref name="runs"/> processes gets on this machine.</summary>
    public static int ThreadsEach(int runs) => Math.Max(1, Environment.ProcessorCount / Math.Max(1, runs));

    /// <param name="runs">Label (shown and used for the log's name), train config path and steps, per run.</param>
    /// <param name="logs">Folder for each run's output (`label.log`).</param>
    public static async Task RunAsync(CliContext cli, IReadOnlyList<(string Label, string Config, int Steps)> runs, string logs, CancellationToken ct)
    {
        Directory.CreateDirectory(logs);
        var threads = ThreadsEach(runs.Count);
        var (host, prefix) = DistillCommand();
        var started = new List<Child>();
        try
        {
            foreach (var (label, config, steps) in runs)
            {
                var args = new List<string>(prefix) { "train", config };
                if (cli.Verbose) args.Add("--verbose");
                cli.Console.Write(new Text(string.Create(CultureInfo.InvariantCulture,
                    $"$ distill train {config}   ({label}: {threads} thread{(threads == 1 ? "" : "s")}, log {Path.Combine(logs, label + ".log")})\n"), new Style(Color.Grey)));
                started.Add(Child.Start(host, args, threads, Path.Combine(logs, label + ".log"), label, steps));
            }
            await cli.Console.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .StartAsync(async progress =>
                {
                    var tasks = started.Select(c => (Child: c, Task: progress.AddTask(c.Label, maxValue: c.Steps))).ToList();
                    var all = Task.WhenAll(started.Select(c => c.Exited));
                    while (!all.IsCompleted)
                    {
                        foreach (var (child, task) in tasks) task.Value = child.Step;
                        var failed = started.FirstOrDefault(c => c.Exited.IsCompleted && c.Exited.Result != DistillApp.Success);
                        if (failed is not null) break;
                        await Task.WhenAny(all, Task.Delay(500, ct));
                        ct.ThrowIfCancellationRequested();
                    }
                    foreach (var (child, task) in tasks) task.Value = child.Step;
                });
            var stopped = started.FirstOrDefault(c => c.Exited.IsCompleted && c.Exited.Result != DistillApp.Success);
            if (stopped is not null)
            {
                var code = stopped.Exited.Result;
                throw new DistillException($"training {stopped.Label} failed (exit code {code}): {stopped.LastError ?? "no error line"}",
                    $"see {stopped.LogPath}; run the quickstart again to resume from the last checkpoints");
            }
        }
        finally
        {
            foreach (var child in started) child.Dispose();
        }
    }

    /// <summary>How to start this `distill`: through the dotnet host with the CLI's assembly (also under `dotnet test`), or the
    /// app host itself.</summary>
    private static (string Host, IReadOnlyList<string> Prefix) DistillCommand()
    {
        var host = Environment.ProcessPath ?? "dotnet";
        var isDotnet = Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase);
        return isDotnet ? (host, [typeof(DistillApp).Assembly.Location]) : (host, []);
    }

    [GeneratedRegex(@"\bstep (\d+)/(\d+)\b")]
    private static partial Regex StepLine();

    /// <summary>One `distill train` process, its output copied to its log as it comes.</summary>
    private sealed class Child : IDisposable
    {
        private readonly Process _process;
        private readonly StreamWriter _log;
        private readonly object _gate = new();

        private Child(Process process, StreamWriter log, string label, string logPath, int steps)
        {
            _process = process;
            _log = log;
            Label = label;
            LogPath = logPath;
            Steps = steps;
        }

        public string Label { get; }
        public string LogPath { get; }
        public int Steps { get; }
        public int Step { get; private set; }
        public string? LastError { get; private set; }
        public Task<int> Exited { get; private set; } = null!;

        public static Child Start(string host, IReadOnlyList<string> args, int threads, string logPath, string label, int steps)
        {
            var info = new ProcessStartInfo(host)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = Environment.CurrentDirectory,
            };
            foreach (var arg in args) info.ArgumentList.Add(arg);
            var threadCount = threads.ToString(CultureInfo.InvariantCulture);
            info.Environment["OMP_NUM_THREADS"] = threadCount;
            info.Environment["MKL_NUM_THREADS"] = threadCount;
            var process = new Process { StartInfo = info, EnableRaisingEvents = true };
            var child = new Child(process, new StreamWriter(logPath, append: true) { AutoFlush = true }, label, logPath, steps);
            process.OutputDataReceived += (_, e) => child.OnLine(e.Data, error: false);
            process.ErrorDataReceived += (_, e) => child.OnLine(e.Data, error: true);
            if (!process.Start()) throw new DistillException($"could not start `distill train` for {label}");
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            child.Exited = child.WaitAsync();
            return child;
        }

        private async Task<int> WaitAsync()
        {
            await _process.WaitForExitAsync();
            _process.WaitForExit(); // drains the redirected output
            return _process.ExitCode;
        }

        private void OnLine(string? line, bool error)
        {
            if (line is null) return;
            lock (_gate)
            {
                _log.WriteLine(line);
                if (error && !string.IsNullOrWhiteSpace(line)) LastError = line.Trim();
                var step = StepLine().Match(line);
                if (step.Success) Step = int.Parse(step.Groups[1].Value, CultureInfo.InvariantCulture);
            }
        }

        public void Dispose()
        {
            try
            {
                if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // exited meanwhile
            }
            _process.Dispose();
            lock (_gate) _log.Dispose();
        }
    }
}
