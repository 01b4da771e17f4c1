using Distill.Generation.Recipes;
using Distill.Teachers;
using Microsoft.SemanticKernel;

namespace Distill.Generation.Domains;

/// <summary>
/// A domain plugged into the generic pipeline: the tasks it poses (with ground truth), the template variables its prompts
/// expect, the tools its agent may call, and optionally a scripted teacher that demonstrates its tasks. The embedded world is
/// one; a user's own domain plugs in the same way. Generation, evaluation and serving know only this interface; the CLI
/// composes the domains it offers.
/// </summary>
public interface ITaskDomain
{
    /// <summary>The prefix of its task sources: <c>--tasks &lt;name&gt;:&lt;split&gt;</c>.</summary>
    string Name { get; }

    /// <summary>The splits it can generate tasks for (e.g. train, dev, heldout).</summary>
    IReadOnlyList<string> Splits { get; }

    /// <summary>
    /// The first <paramref name="count"/> tasks of <paramref name="split"/>, deterministically; <paramref name="filter"/> is the
    /// optional part after the split in the task source (<c>world:heldout:T1</c>), whose meaning is the domain's.
    /// </summary>
    IReadOnlyList<SeedTask> Tasks(string split, int count, string? filter = null);

    /// <summary>Values for template variables the domain's prompts use (e.g. today's date); <c>--vars</c> override them.</summary>
    IReadOnlyDictionary<string, object?> TemplateVariables { get; }

    /// <summary>The agent's tools, executed for real when a model calls them.</summary>
    IReadOnlyList<KernelFunction> Tools { get; }

    /// <summary>Name of the built-in scripted teacher (<c>--teacher NAME</c>), or null when the domain has none.</summary>
    string? ScriptedTeacherName { get; }

    /// <summary>A teacher that plays the correct trajectory of each of <paramref name="tasks"/> (no model, no network).</summary>
    ITeacher CreateScriptedTeacher(IReadOnlyList<SeedTask> tasks);
}
