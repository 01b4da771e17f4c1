using System.Diagnostics;
using Distill.Generation.Recipes;
using Distill.Generation.Templates;

namespace Distill.Generation.Runner;

/// <summary>Samples per second over one tenth of a run, and how many of its samples were accepted.</summary>
public sealed record ScalingSegment(int FirstTask, int LastTask, double Seconds, int Accepted)
{
    public double SamplesPerSecond => Seconds > 0 ? (LastTask - FirstTask) / Seconds : 0;
}

/// <summary>One <see cref="GenerationScalingBenchmark"/> run: the rate per tenth of the tasks and the memory at the end.</summary>
public sealed record ScalingResult(int Tasks, int Accepted, double Seconds, IReadOnlyList<ScalingSegment> Tenths, double PeakWorkingSetMb, double ManagedHeapMb)
{
    public double SamplesPerSecond => Seconds > 0 ? Tasks / Seconds : 0;

    /// <summary>The last tenth's rate over the first tenth's (target: within 20%, i.e. >= 0.8).</summary>
    public double LastOverFirst => Tenths[0].SamplesPerSecond > 0 ? Tenths[^1].SamplesPerSecond / Tenths[0].SamplesPerSecond : 0;
}

/// <summary>
/// `distill bench generate --scaling N`: the real <see cref="GenerationRunner"/> (cot recipe, cache, quality filter, dataset
/// writer) over N templated tasks that differ only in their numbers, against an in-process teacher that answers instantly with
/// a templated rationale. Everything but the teacher's latency is on the path, so the rate per tenth shows whether the runner
/// slows as the dataset grows.
/// </summary>
public static class GenerationScalingBenchmark
{
    public static async Task<ScalingResult> RunAsync(TemplateDefinition cotTemplate, string directory, int tasks, int concurrency, CancellationToken ct = default)
    {
        if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        var seeds = InstantOrderTeacher.Tasks(tasks);
        var caching = new CachingTeacher(new InstantOrderTeacher(seeds), Path.Combine(directory, "cache"), cotTemplate.Version);
        var recipe = new ChainOfThoughtRecipe(new RecipeContext { Template = cotTemplate, Teacher = caching });
        var runner = new GenerationRunner(recipe, caching, cotTemplate.Version, new GenerateOptions
        {
            OutputDir = Path.Combine(directory, "dataset"),
            Concurrency = concurrency,
        });
        var tenths = new TenthsRecorder(tasks);
        var result = await runner.RunAsync(seeds, tenths, ct).ConfigureAwait(false);
        using var process = Process.GetCurrentProcess();
        return new ScalingResult(tasks, result.Accepted, result.Elapsed.TotalSeconds, tenths.Segments(), process.PeakWorkingSet64 / 1e6, GC.GetTotalMemory(false) / 1e6);
    }

    /// <summary>Called synchronously by the runner after every sample (under its lock), so the clock reads are exact.</summary>
    private sealed class TenthsRecorder(int tasks) : IProgress<RunProgress>
    {
        private readonly List<(int Done, double Seconds, int Accepted)> _marks = [(0, 0, 0)];

        public void Report(RunProgress value)
        {
            var next = tasks * _marks.Count / 10;
            if (_marks.Count <= 10 && value.Done >= next) _marks.Add((value.Done, value.Elapsed.TotalSeconds, value.Accepted));
        }

        public IReadOnlyList<ScalingSegment> Segments() =>
            _marks.Zip(_marks.Skip(1), (a, b) => new ScalingSegment(a.Done, b.Done, b.Seconds - a.Seconds, b.Accepted - a.Accepted)).ToList();
    }
}
