using Distill.Core.Samples;
using Distill.Teachers;
using Distill.World.Store;
using Distill.World.Tasks;

namespace Distill.World.Tests;

public sealed class ScriptedWorldTeacherTests
{
    private static readonly StoreWorld World = new();

    private static WorldTask TwoStepTask() =>
        new WorldTaskGenerator(World).Generate(WorldSplits.Train, 200).First(t => t.Tier == WorldTiers.Eta);

    private static TeacherRequest Request(params ChatMessage[] messages) => new() { Messages = messages };

    [Fact]
    public async Task Answers_each_step_of_the_demonstration_in_turn_then_the_final_answer()
    {
        var task = TwoStepTask();
        var teacher = new ScriptedWorldTeacher(World, [task]);
        var system = ChatMessage.System("agent");
        var user = ChatMessage.User(task.Question);

        var first = await teacher.CompleteAsync(Request(system, user));
        Assert.Equal("lookup_order", Assert.Single(first.ToolCalls).Name);
        Assert.Equal("tool_calls", first.FinishReason);
        Assert.False(string.IsNullOrEmpty(first.Reasoning));

        var lookup = ChatMessage.Tool(first.ToolCalls[0].Id, "lookup_order", """{"tracking_number":"T12345"}""");
        var second = await teacher.CompleteAsync(Request(system, user, ChatMessage.Assistant(null, first.ToolCalls), lookup));
        Assert.Equal("track_shipment", Assert.Single(second.ToolCalls).Name);

        var track = ChatMessage.Tool(second.ToolCalls[0].Id, "track_shipment", """{"carrier":"UPS"}""");
        var final = await teacher.CompleteAsync(Request(system, user, ChatMessage.Assistant(null, first.ToolCalls), lookup,
            ChatMessage.Assistant(null, second.ToolCalls), track));
        Assert.Empty(final.ToolCalls);
        Assert.Equal("stop", final.FinishReason);
        foreach (var fact in task.ExpectedAnswerFacts) Assert.Contains(fact, final.Content!, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("scripted", final.Teacher!.Provider);
    }

    [Fact]
    public async Task A_tool_error_fed_back_repeats_the_step_instead_of_advancing()
    {
        var task = TwoStepTask();
        var teacher = new ScriptedWorldTeacher(World, [task]);
        var first = await teacher.CompleteAsync(Request(ChatMessage.User(task.Question)));
        var error = ChatMessage.Tool(first.ToolCalls[0].Id, "lookup_order", """{"error":"timeout"}""");
        var again = await teacher.CompleteAsync(Request(ChatMessage.User(task.Question), ChatMessage.Assistant(null, first.ToolCalls), error));
        Assert.Equal("lookup_order", Assert.Single(again.ToolCalls).Name);
    }

    [Fact]
    public async Task A_question_outside_the_world_is_a_clear_request_error()
    {
        var teacher = new ScriptedWorldTeacher(World, [TwoStepTask()]);
        var e = await Assert.ThrowsAsync<TeacherRequestException>(() => teacher.CompleteAsync(Request(ChatMessage.User("Write me a poem."))));
        Assert.Contains("world:train", e.OneLine, StringComparison.Ordinal);
    }
}
