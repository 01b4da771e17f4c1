using Distill.Core.Samples;
using Distill.Teachers;
using Distill.World.Store;

namespace Distill.World.Tasks;

/// <summary>
/// The embedded world's scripted demonstrations behind the teacher interface: given a conversation about one of the world's
/// tasks, it answers the demonstration's next assistant turn (a reasoned tool call, or the final answer). No model and no
/// network; it exists to bootstrap the local teacher (`distill quickstart`), and says so in every row's lineage.
/// It counts the successful tool results so far to pick the turn, so an error fed back (never produced by the script itself)
/// repeats the step.
/// </summary>
public sealed class ScriptedWorldTeacher : ITeacher
{
    public const string TeacherName = "world-scripted";

    private readonly Dictionary<string, WorldTask> _byQuestion = new(StringComparer.Ordinal);
    private readonly ScriptedDemonstrations _demonstrations;

    /// <param name="tasks">The world tasks it can answer (looked up by their question).</param>
    public ScriptedWorldTeacher(StoreWorld world, IEnumerable<WorldTask> tasks)
    {
        _demonstrations = new ScriptedDemonstrations(world);
        foreach (var task in tasks) _byQuestion.TryAdd(task.Question, task);
    }

    public string Name => TeacherName;

    public TeacherInfo Info { get; } = new("scripted", "world-demonstrations", null);

    public Task<TeacherResponse> CompleteAsync(TeacherRequest request, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var question = request.Messages.FirstOrDefault(m => m.Role == ChatRoles.User)?.Content
            ?? throw new InvalidOperationException("the scripted teacher needs a user message");
        if (!_byQuestion.TryGetValue(question, out var task))
            throw new TeacherRequestException(TeacherName, "the scripted world teacher only knows the embedded world's tasks",
                "use --tasks world:train or world:heldout with --teacher world-scripted", 400);
        var completedSteps = request.Messages.Count(m => m.Role == ChatRoles.Tool && m.Content?.StartsWith("{\"error\"", StringComparison.Ordinal) != true);
        var turns = _demonstrations.For(task).Where(m => m.Role == ChatRoles.Assistant).ToList();
        var turn = turns[Math.Min(completedSteps, turns.Count - 1)];
        return Task.FromResult(new TeacherResponse
        {
            Content = turn.Content,
            Reasoning = turn.Reasoning,
            ToolCalls = turn.ToolCalls,
            FinishReason = turn.ToolCalls.Count > 0 ? "tool_calls" : "stop",
            Model = Info.Model,
            TeacherName = TeacherName,
            Teacher = Info,
        });
    }
}
