using Distill.Core.Errors;
using Distill.Core.Samples;
using Distill.Generation.Templates;
using Distill.Generation.Tools;
using Distill.Teachers;

namespace Distill.Generation.Recipes;

/// <summary>What every recipe of a run shares: the template, the teacher (injected, never constructed here) and the knobs.</summary>
public sealed record RecipeContext
{
    public required TemplateDefinition Template { get; init; }
    public required ITeacher Teacher { get; init; }
    public TemplateRenderer Renderer { get; init; } = new();

    /// <summary>Tools offered to the teacher (tool_trace, dialogue).</summary>
    public ToolRuntime? Tools { get; init; }

    /// <summary>Extra template variables (<c>--vars</c>); the seed input fills the template's input variable.</summary>
    public IReadOnlyDictionary<string, object?> Variables { get; init; } = new Dictionary<string, object?>();

    /// <summary>Top logprobs per token to ask for; null asks for none.</summary>
    public int? TopLogprobs { get; init; }

    /// <summary>Base seed; each call's seed is derived from it, the sample index and the call's variant.</summary>
    public long Seed { get; init; }

    /// <summary>Teacher turns a tool trace may take before it is rejected as step_limit.</summary>
    public int MaxSteps { get; init; } = 8;

    /// <summary>Samples per task for CoT self-consistency when the task has no ground truth.</summary>
    public int SelfConsistency { get; init; } = 3;

    /// <summary>Dialogue recipe: the simulated customer's template (e.g. user-simulator).</summary>
    public TemplateDefinition? SimulatorTemplate { get; init; }

    /// <summary>Dialogue recipe: most agent turns (one per customer message).</summary>
    public int MaxTurns { get; init; } = 3;

    /// <summary>Instruction recipe: the evol template that deepens the seed instruction first; null for plain self-instruct.</summary>
    public TemplateDefinition? EvolTemplate { get; init; }
}

/// <summary>The row a recipe produced: accepted when <see cref="RejectReason"/> is null.</summary>
public sealed record RecipeResult(Sample Sample, string? RejectReason)
{
    public bool Accepted => RejectReason is null;

    /// <summary>The teacher's error when the sample was rejected because a request failed: the runner watches these for systematic errors.</summary>
    public TeacherException? TeacherError { get; init; }
}

/// <summary>A recipe: prompt formatting (templates) + teacher call(s) + output parsing + verification.</summary>
public interface IRecipe
{
    string Name { get; }

    /// <summary>Teacher calls one sample of <paramref name="task"/> is expected to take (for dry-run estimates).</summary>
    int EstimatedCalls(SeedTask task);

    /// <summary>
    /// One sample. Teacher failures (content filter, truncation, malformed response, teacher down) come back as rejects;
    /// a fatal teacher error (bad key, wrong deployment) and cancellation propagate.
    /// </summary>
    Task<RecipeResult> RunAsync(SeedTask task, string sampleId, int index, CancellationToken cancellationToken);
}

public static class RecipeCatalog
{
    public static readonly IReadOnlyList<string> Names = [SampleKinds.ToolTrace, SampleKinds.ChainOfThought, SampleKinds.Instruction, SampleKinds.Dialogue];

    /// <summary>The template recipe a recipe's agent template must declare (dialogue drives a tool_trace agent).</summary>
    public static string TemplateRecipe(string recipe) => recipe == SampleKinds.Dialogue ? SampleKinds.ToolTrace : recipe;

    /// <summary>The template a recipe uses when <c>--template</c> is not given.</summary>
    public static string DefaultTemplate(string recipe) => recipe switch
    {
        SampleKinds.ToolTrace or SampleKinds.Dialogue => "tool-agent",
        SampleKinds.ChainOfThought => "cot-answer",
        SampleKinds.Instruction => "instruction-basic",
        _ => throw Unknown(recipe),
    };

    public static IRecipe Create(string recipe, RecipeContext context) => recipe switch
    {
        SampleKinds.ToolTrace => new ToolTraceRecipe(context),
        SampleKinds.ChainOfThought => new ChainOfThoughtRecipe(context),
        SampleKinds.Instruction => new InstructionRecipe(context),
        SampleKinds.Dialogue => new DialogueRecipe(context),
        _ => throw Unknown(recipe),
    };

    private static DistillException Unknown(string recipe) =>
        new($"unknown recipe '{recipe}'", $"use one of: {string.Join(", ", Names)}");
}

/// <summary>Thrown inside a recipe to end the sample as a reject with a reason.</summary>
internal sealed class SampleRejectedException(string reason, TeacherException? cause = null) : Exception(reason, cause)
{
    public string Reason { get; } = reason;
    public TeacherException? Cause { get; } = cause;
}

/// <summary>Renders, calls the teacher and accumulates usage for one sample; the shared part of every recipe.</summary>
internal sealed class SampleBuilder(RecipeContext context, string sampleId, int index, SeedTask task)
{
    private int _prompt, _completion;
    private double _cost, _latency;
    private TeacherInfo? _teacher;
    private GenerationParams? _params;

    public RecipeContext Context => context;

    /// <summary>The template's variables from the seed input and <paramref name="extra"/> (the domain's variables, then <c>--vars</c>).</summary>
    public static Dictionary<string, object?> Values(TemplateDefinition template, string input, IReadOnlyDictionary<string, object?> extra)
    {
        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        var inputName = new[] { "customer_message", "question", "instruction", "input", "prompt" }.FirstOrDefault(n => template.FindVariable(n) is not null)
            ?? template.Variables.FirstOrDefault(v => v.Required && v.DefaultText is null)?.Name
            ?? throw new DistillException($"{template.FilePath}: template '{template.Id}' has no variable for the seed input",
                "declare a required variable such as 'question' or 'instruction'");
        values[inputName] = input;
        foreach (var (k, v) in extra)
        {
            if (template.FindVariable(k) is not null) values[k] = v;
        }
        return values;
    }

    public Task<RenderedPrompt> RenderAsync(TemplateDefinition template, string input, CancellationToken ct) =>
        context.Renderer.RenderAsync(template, Values(template, input, context.Variables), ct);

    /// <summary>One teacher call; a response the teacher layer marks unusable, or a non-fatal teacher error, rejects the sample.</summary>
    public async Task<TeacherResponse> CallAsync(TemplateDefinition template, IReadOnlyList<ChatMessage> messages, string? tools, int variant, CancellationToken ct)
    {
        var p = template.Parameters;
        var request = new TeacherRequest
        {
            Messages = messages,
            Tools = tools,
            ToolChoice = tools is null ? null : "auto",
            Temperature = p.Temperature is { } t ? (float)t : null,
            TopP = p.TopP is { } tp ? (float)tp : null,
            MaxTokens = p.MaxTokens,
            Seed = unchecked(context.Seed * 1_000_003 + index * 1009L + variant),
            Logprobs = context.TopLogprobs is not null,
            TopLogprobs = context.TopLogprobs,
        };
        _params ??= request.ToGenerationParams();
        TeacherResponse response;
        try
        {
            response = await context.Teacher.CompleteAsync(request, ct).ConfigureAwait(false);
        }
        catch (TeacherException e) when (!e.IsFatal)
        {
            throw new SampleRejectedException(e.RejectReason, e);
        }
        _prompt += response.Usage.PromptTokens;
        _completion += response.Usage.CompletionTokens;
        _cost += response.CostUsd;
        _latency += response.Latency.TotalMilliseconds;
        _teacher ??= response.Teacher ?? context.Teacher.Info;
        return response.RejectReason is { } reason ? throw new SampleRejectedException(reason) : response;
    }

    public Sample Build(string kind, IReadOnlyList<ChatMessage> messages, bool privileged, string? tools = null) => new()
    {
        Id = sampleId,
        Kind = kind,
        Messages = messages,
        Tools = tools,
        TemplateId = context.Template.Id,
        TemplateVersion = context.Template.Version,
        Recipe = kind,
        Teacher = _teacher ?? context.Teacher.Info,
        Params = _params ?? context.Template.Parameters,
        SeedInput = task.Input,
        CreatedAt = DateTimeOffset.UtcNow,
        PrivilegedContextUsed = privileged,
        PromptTokens = _prompt,
        CompletionTokens = _completion,
        CostUsd = _cost,
        LatencyMs = _latency,
    };

    /// <summary>Runs <paramref name="body"/>; a <see cref="SampleRejectedException"/> becomes a reject row with what was built so far.</summary>
    public async Task<RecipeResult> GuardAsync(string kind, Func<List<ChatMessage>, Task<RecipeResult>> body)
    {
        var trace = new List<ChatMessage>();
        try
        {
            return await body(trace).ConfigureAwait(false);
        }
        catch (SampleRejectedException e)
        {
            return new RecipeResult(Build(kind, trace, privileged: false), e.Reason) { TeacherError = e.Cause };
        }
    }
}
