using System.Text.Json;
using Distill.Core.Samples;
using Distill.Generation.Recipes;
using Distill.Teachers;

namespace CapitalsDomain;

/// <summary>The scripted teacher of the capitals domain: it calls <c>capital_of</c> for the asked country, then answers with the tool's result.</summary>
internal sealed class Geographer(IReadOnlyList<SeedTask> tasks) : ITeacher
{
    private readonly Dictionary<string, SeedTask> _byQuestion = tasks.ToDictionary(t => t.Input, StringComparer.Ordinal);

    public string Name => Capitals.TeacherName;

    public TeacherInfo Info { get; } = new("scripted", "capitals-geographer", null);

    public Task<TeacherResponse> CompleteAsync(TeacherRequest request, CancellationToken cancellationToken = default)
    {
        var question = request.Messages.First(m => m.Role == ChatRoles.User).Content!;
        if (!_byQuestion.TryGetValue(question, out var task))
            throw new TeacherRequestException(Name, $"the geographer only knows the capitals tasks, not '{question}'", "use --tasks capitals:train", 400);
        var toolResult = request.Messages.LastOrDefault(m => m.Role == ChatRoles.Tool);
        if (toolResult is null)
        {
            var call = task.ExpectedCalls![0];
            return Respond(null, "The atlas knows every capital, so I look the country up.", [new ToolCall("call_1", call.Name, JsonSerializer.Serialize(call.Arguments))]);
        }
        using var result = JsonDocument.Parse(toolResult.Content!);
        var root = result.RootElement;
        return Respond($"The capital of {root.GetProperty("country").GetString()} is {root.GetProperty("capital").GetString()}.", "The atlas answered.", []);
    }

    private Task<TeacherResponse> Respond(string? content, string reasoning, IReadOnlyList<ToolCall> calls) => Task.FromResult(new TeacherResponse
    {
        Content = content,
        Reasoning = reasoning,
        ToolCalls = calls,
        FinishReason = calls.Count > 0 ? "tool_calls" : "stop",
        Model = Info.Model,
        TeacherName = Name,
        Teacher = Info,
    });
}
