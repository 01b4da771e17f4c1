using System.Globalization;
using System.Text.Json.Nodes;
using Distill.Core.Samples;
using Distill.Generation.Quality;
using Distill.Generation.Recipes;
using Distill.Generation.Runner;
using Distill.Generation.Templates;
using Distill.Generation.Tools;
using Distill.Teachers;

namespace Distill.Evaluation;

/// <summary>One model (or API teacher) to evaluate: its display name, where it comes from, and the client that reaches it.</summary>
/// <param name="Identity">What the answers depend on (a weights hash, or provider + model): the eval folder is keyed by it, so
/// re-running resumes the same evaluation while retrained weights get a fresh one.</param>
public sealed record EvaluationSubject(string Name, string Source, string Identity, ITeacher Client);

/// <summary>
/// Held-out task evaluation: the model runs the same tool-using agent loop as data generation (the tool_trace recipe over the
/// Semantic Kernel tools, really executed), on tasks it never saw, and every trajectory is kept as an eval dataset, verified
/// against the task's ground truth. Greedy (the template's temperature, fixed seeds) and, with <see cref="Samples"/> &gt; 0,
/// as many sampled attempts per task at <see cref="Temperature"/> (each with its own seed) for pass@k. Resumable (sample ids),
/// without dedup filters: identical answers to different tasks are not duplicates here. Each row is scored against the task
/// its sample id was planned for, so tags and ground truth are exact even when two tasks ask the same question.
/// </summary>
public sealed class HeldOutEvaluator(TemplateDefinition template, IReadOnlyList<SeedTask> tasks, ToolRuntime tools, string outputDir)
{
    public int Concurrency { get; init; } = 4;
    public int MaxSteps { get; init; } = 6;
    public long Seed { get; init; }

    /// <summary>Sampled attempts per task besides the greedy one (0: greedy only).</summary>
    public int Samples { get; init; }

    /// <summary>Sampling temperature of the sampled attempts.</summary>
    public double Temperature { get; init; } = 0.8;

    /// <summary>Template variables the domain supplies (e.g. today's date), as generation gets them.</summary>
    public IReadOnlyDictionary<string, object?> Variables { get; init; } = new Dictionary<string, object?>();

    /// <summary>Where <paramref name="subject"/>'s trajectories go: &lt;out&gt;/&lt;name&gt;-&lt;identity&gt;.</summary>
    public string DatasetDir(EvaluationSubject subject) =>
        Path.Combine(outputDir, $"{Sanitize(subject.Name)}-{subject.Identity[..Math.Min(12, subject.Identity.Length)]}");

    /// <summary>Where the sampled attempts go: inside the greedy folder, one folder per temperature (attempts of any count resume).</summary>
    public string SampledDir(EvaluationSubject subject) =>
        Path.Combine(DatasetDir(subject), "sampled-t" + Temperature.ToString("0.###", CultureInfo.InvariantCulture));

    public async Task<ModelEvaluation> EvaluateAsync(EvaluationSubject subject, IProgress<RunProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (Samples < 0) throw new ArgumentOutOfRangeException(nameof(Samples), Samples, "sampled attempts cannot be negative");
        var dir = DatasetDir(subject);
        var caching = new CachingTeacher(subject.Client, Path.Combine(dir, "cache"), template.Version);
        var greedy = Runner(subject, caching, template, dir);
        await greedy.RunAsync(tasks, progress, cancellationToken).ConfigureAwait(false);
        var rows = await RowsAsync(greedy, tasks, dir, attempt => attempt, cancellationToken).ConfigureAwait(false);
        if (Samples == 0) return ModelEvaluation.Score(subject.Name, subject.Source, dir, rows);

        // Attempt j of task i is entry j * tasks + i of one long list: its own sample id and its own seed (the seed derives from
        // the index), and a later run with more samples keeps the attempts already made.
        var sampling = template with { Parameters = template.Parameters with { Temperature = Temperature } };
        var attempts = Enumerable.Range(0, Samples).SelectMany(_ => tasks).ToList();
        var sampledDir = SampledDir(subject);
        var sampler = Runner(subject, caching, sampling, sampledDir);
        await sampler.RunAsync(attempts, progress, cancellationToken).ConfigureAwait(false);
        var sampled = await RowsAsync(sampler, attempts, sampledDir, index => index % tasks.Count, cancellationToken).ConfigureAwait(false);
        return ModelEvaluation.Score(subject.Name, subject.Source, dir, rows, sampled, Samples, Temperature);
    }

    /// <summary>The rows of <paramref name="dir"/> that belong to the planned tasks, each with its task (rows of other tasks, e.g. from an earlier, larger --count, are left out).</summary>
    private static async Task<IReadOnlyList<ScoredRow>> RowsAsync(GenerationRunner runner, IReadOnlyList<SeedTask> planned, string dir,
        Func<int, int> taskIndexOf, CancellationToken cancellationToken)
    {
        var plan = runner.Plan(planned).ToDictionary(p => p.Id, p => (p.Task, p.Index), StringComparer.Ordinal);
        var rows = new List<ScoredRow>();
        foreach (var (sample, reject) in await ModelEvaluation.ReadRowsAsync(dir, cancellationToken).ConfigureAwait(false))
        {
            if (plan.TryGetValue(sample.Id, out var entry)) rows.Add(new ScoredRow(sample, reject, entry.Task, taskIndexOf(entry.Index)));
        }
        return rows;
    }

    private GenerationRunner Runner(EvaluationSubject subject, CachingTeacher caching, TemplateDefinition prompt, string dir)
    {
        var context = new RecipeContext
        {
            Template = prompt,
            Teacher = caching,
            Tools = tools,
            Variables = Variables,
            Seed = Seed,
            MaxSteps = MaxSteps,
        };
        return new GenerationRunner(RecipeCatalog.Create(SampleKinds.ToolTrace, context), caching, prompt.Version, new GenerateOptions
        {
            OutputDir = dir,
            Concurrency = Concurrency,
            CommitEvery = 25,
            // A model under evaluation that fails request after request (say, past its context) is scored on it, not stopped.
            StopAfterRepeatedErrors = int.MaxValue,
            Quality = new QualityOptions { ExactDedup = false, NearDedup = false, MinAnswerChars = 0 },
            Config = new JsonObject
            {
                ["evaluation"] = true,
                ["model"] = subject.Name,
                ["source"] = subject.Source,
                ["identity"] = subject.Identity,
                ["template_id"] = prompt.Id,
                ["template_version"] = prompt.Version,
                ["temperature"] = prompt.Parameters.Temperature,
                ["tasks"] = tasks.Count,
                ["max_steps"] = MaxSteps,
                ["seed"] = Seed,
            },
        });
    }

    private static string Sanitize(string name) =>
        new(name.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-').ToArray());
}
