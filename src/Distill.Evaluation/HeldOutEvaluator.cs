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
/// against the task's ground truth. Deterministic (the template's temperature, fixed seeds), resumable (sample ids), and without
/// dedup filters: identical answers to different tasks are not duplicates here.
/// </summary>
public sealed class HeldOutEvaluator(TemplateDefinition template, IReadOnlyList<SeedTask> tasks, ToolRuntime tools, string outputDir)
{
    public int Concurrency { get; init; } = 4;
    public int MaxSteps { get; init; } = 6;
    public long Seed { get; init; }

    /// <summary>Template variables the domain supplies (e.g. today's date), as generation gets them.</summary>
    public IReadOnlyDictionary<string, object?> Variables { get; init; } = new Dictionary<string, object?>();

    /// <summary>Where <paramref name="subject"/>'s trajectories go: &lt;out&gt;/&lt;name&gt;-&lt;identity&gt;.</summary>
    public string DatasetDir(EvaluationSubject subject) =>
        Path.Combine(outputDir, $"{Sanitize(subject.Name)}-{subject.Identity[..Math.Min(12, subject.Identity.Length)]}");

    public async Task<ModelEvaluation> EvaluateAsync(EvaluationSubject subject, IProgress<RunProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var dir = DatasetDir(subject);
        var caching = new CachingTeacher(subject.Client, Path.Combine(dir, "cache"), template.Version);
        var context = new RecipeContext
        {
            Template = template,
            Teacher = caching,
            Tools = tools,
            Variables = Variables,
            Seed = Seed,
            MaxSteps = MaxSteps,
        };
        var runner = new GenerationRunner(RecipeCatalog.Create(SampleKinds.ToolTrace, context), caching, template.Version, new GenerateOptions
        {
            OutputDir = dir,
            Concurrency = Concurrency,
            CommitEvery = 25,
            Quality = new QualityOptions { ExactDedup = false, NearDedup = false, MinAnswerChars = 0 },
            Config = new JsonObject
            {
                ["evaluation"] = true,
                ["model"] = subject.Name,
                ["source"] = subject.Source,
                ["identity"] = subject.Identity,
                ["template_id"] = template.Id,
                ["template_version"] = template.Version,
                ["tasks"] = tasks.Count,
                ["max_steps"] = MaxSteps,
                ["seed"] = Seed,
            },
        });
        await runner.RunAsync(tasks, progress, cancellationToken).ConfigureAwait(false);
        return await ModelEvaluation.ScoreAsync(subject.Name, subject.Source, dir, KindOf(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The kind of each task's input, from its "kind" tag (tasks without one are "task").</summary>
    private Func<string, string> KindOf()
    {
        var kinds = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var t in tasks) kinds.TryAdd(t.Input, t.Tags?.GetValueOrDefault("kind") ?? "task");
        return input => kinds.TryGetValue(input, out var kind) ? kind : "task";
    }

    private static string Sanitize(string name) =>
        new(name.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-').ToArray());
}
