using System.Globalization;
using Distill.Generation.Runner;
using Spectre.Console;

namespace Distill.Cli.Commands;

/// <summary>Live progress of a generation run (generate, evaluate): a Spectre bar in a terminal, a line every 5 s otherwise.</summary>
public static class RunProgressDisplay
{
    public static async Task ShowAsync(IAnsiConsole console, string label, Task run, LatestProgress latest)
    {
        if (console.Profile.Capabilities.Interactive)
        {
            await console.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .StartAsync(async ctx =>
                {
                    var bar = ctx.AddTask(label);
                    while (true)
                    {
                        if (latest.Value is { } p)
                        {
                            bar.MaxValue = Math.Max(1, p.Total - p.Skipped);
                            bar.Value = p.Done;
                            bar.Description = Markup.Escape(Line(p));
                        }
                        if (run.IsCompleted) break;
                        await Task.WhenAny(run, Task.Delay(250));
                    }
                });
            return;
        }
        while (!run.IsCompleted)
        {
            await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(5)));
            if (!run.IsCompleted && latest.Value is { } p) console.WriteLine(Line(p));
        }
    }

    public static string Line(RunProgress p)
    {
        var retry = p.UncommittedCount == 0 ? "" : $" retry-later {p.UncommittedCount}";
        var reasons = p.Rejected.Count == 0 ? "" : $" ({string.Join(", ", p.Rejected.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => $"{r.Key} {r.Value}"))})";
        var eta = p.Eta is { } e ? $" eta {e:hh\\:mm\\:ss}" : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"done {p.Done}/{p.Total - p.Skipped} accepted {p.Accepted} rejected {p.RejectedCount}{reasons}{retry} {p.RatePerSecond:0.0}/s tokens {p.PromptTokens + p.CompletionTokens:N0} cost ${p.CostUsd:0.0000}{eta}");
    }

    /// <summary>Keeps the latest snapshot; the display polls it (no synchronization context needed).</summary>
    public sealed class LatestProgress : IProgress<RunProgress>
    {
        private RunProgress? _value;
        public RunProgress? Value => Volatile.Read(ref _value);
        public void Report(RunProgress value) => Volatile.Write(ref _value, value);
    }

}
