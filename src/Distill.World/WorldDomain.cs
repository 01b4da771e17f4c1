using System.Collections.Concurrent;
using Distill.Core.Errors;
using Distill.Generation.Domains;
using Distill.Generation.Recipes;
using Distill.Teachers;
using Distill.World.Store;
using Distill.World.Tasks;
using Distill.World.Tools;
using Microsoft.SemanticKernel;

namespace Distill.World;

/// <summary>
/// The embedded customer-service world as a plugin of the generic pipeline: task sources <c>world:train</c>, <c>world:dev</c>,
/// <c>world:heldout</c> (optionally <c>:T1</c> or <c>:T1,T3</c> for tiers), the store's tools, the template variables
/// <c>today</c> and <c>policy</c>, and the built-in <c>world-scripted</c> teacher that plays the correct trajectories.
/// </summary>
public sealed class WorldDomain : ITaskDomain
{
    public const string DomainName = "world";

    private readonly StoreWorld _world;
    private readonly WorldTaskGenerator _generator;
    private readonly ConcurrentDictionary<string, WorldTask> _issued = new(StringComparer.Ordinal);

    public WorldDomain(StoreWorld? world = null)
    {
        _world = world ?? new StoreWorld();
        _generator = new WorldTaskGenerator(_world);
        Tools = StoreTools.CreatePlugin(_world).ToList();
    }

    public string Name => DomainName;

    public IReadOnlyList<string> Splits => WorldSplits.All;

    public IReadOnlyDictionary<string, object?> TemplateVariables { get; } = new Dictionary<string, object?>(StringComparer.Ordinal)
    {
        ["today"] = StoreTools.Date(StoreWorld.Today),
        ["policy"] = RefundPolicy.Text,
    };

    public IReadOnlyList<KernelFunction> Tools { get; }

    public string? ScriptedTeacherName => ScriptedWorldTeacher.TeacherName;

    public StoreWorld World => _world;

    public IReadOnlyList<WorldTask> WorldTasks(string split, int count, string? filter = null)
    {
        var tiers = string.IsNullOrEmpty(filter) ? null : filter.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var tasks = _generator.Generate(split, count, tiers).ToList();
        foreach (var task in tasks) _issued[task.Id + "\n" + task.Question] = task;
        return tasks;
    }

    public IReadOnlyList<SeedTask> Tasks(string split, int count, string? filter = null) =>
        WorldTasks(split, count, filter).Select(t => t.ToSeedTask()).ToList();

    public ITeacher CreateScriptedTeacher(IReadOnlyList<SeedTask> tasks)
    {
        var known = new List<WorldTask>(tasks.Count);
        foreach (var task in tasks)
        {
            if (!_issued.TryGetValue(task.Id + "\n" + task.Input, out var worldTask))
                throw new DistillException($"--teacher {ScriptedWorldTeacher.TeacherName} only answers the embedded world's tasks, not '{task.Id}'",
                    "use --tasks world:train (or world:dev / world:heldout), or another teacher");
            known.Add(worldTask);
        }
        return new ScriptedWorldTeacher(_world, known);
    }
}
