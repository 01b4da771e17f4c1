using Distill.Core.Samples;
using Distill.Generation.Recipes;
using Distill.Generation.Tests.Runner;
using Distill.Generation.Tools;
using Distill.Teachers;
using Distill.Teachers.Tests;
using Distill.Teachers.Tests.FaultServer;
using Distill.World.Tasks;
using Server = Distill.Teachers.Tests.FaultServer.FaultServer;

namespace Distill.Generation.Tests.Recipes;

public sealed class RecipeTests : IAsyncLifetime
{
    private static readonly IReadOnlyList<WorldTask> Tasks = ScriptedWorld.Tasks(10);
    private Server _server = null!;
    private TeacherRegistry _registry = null!;

    public async Task InitializeAsync()
    {
        _server = await TestTeachers.StartServer(o => o.Reply = ScriptedWorld.Reply(Tasks));
        _registry = TestTeachers.Registry(null, TestTeachers.Options(_server));
    }

    public async Task DisposeAsync()
    {
        _registry.Dispose();
        await _server.DisposeAsync();
    }

    private ITeacher Teacher => _registry.Get("primary");

    private Task<RecipeResult> ToolTrace(WorldTask task, int maxSteps = 8) =>
        new ToolTraceRecipe(ScriptedWorld.Context(Teacher) with { MaxSteps = maxSteps }).RunAsync(task.ToSeedTask(), "id-" + task.Id, 0, default);

    [Fact]
    public async Task Tool_trace_of_a_scripted_teacher_is_accepted_and_verified()
    {
        foreach (var task in Tasks.Take(5))
        {
            var result = await ToolTrace(task);

            Assert.True(result.Accepted, $"{task.Kind}: {result.RejectReason}");
            var s = result.Sample;
            Assert.True(s.Verified, $"{task.Kind} not verified (score {s.Score}): {s.Answer}");
            Assert.Equal(TraceVerifier.Name, s.Verifier);
            Assert.Equal(1.0, s.Score);
            Assert.Equal(SampleKinds.ToolTrace, s.Kind);
            Assert.Equal(task.ExpectedCalls.Select(c => c.Name), s.Messages.SelectMany(m => m.ToolCalls).Select(c => c.Name));
            Assert.Equal(ChatRoles.Assistant, s.Messages[^1].Role);
            Assert.NotNull(s.Tools);
            Assert.Equal("tool-agent", s.TemplateId);
            Assert.True(s.PromptTokens > 0);
        }
    }

    [Fact]
    public async Task Tool_trace_keeps_the_teachers_logprobs_on_every_assistant_turn_tool_call_turns_included()
    {
        // The fault server scores content tokens only, so the tool-call turns here say a word before calling.
        var scripted = ScriptedWorld.Reply(Tasks);
        _server.Options.Reply = request => scripted(request) is { ToolCalls.Count: > 0 } call ? call with { Content = "Checking that now." } : scripted(request);
        var recipe = new ToolTraceRecipe(ScriptedWorld.Context(Teacher) with { TopLogprobs = 2 });

        var result = await recipe.RunAsync(Tasks[1].ToSeedTask(), "lp", 0, default);

        Assert.True(result.Accepted, result.RejectReason);
        var assistants = result.Sample.Messages.Where(m => m.Role == ChatRoles.Assistant).ToList();
        var callTurns = assistants.Where(m => m.ToolCalls.Count > 0).ToList();
        Assert.NotEmpty(callTurns);
        Assert.All(assistants, m => Assert.NotEmpty(m.Logprobs));
        Assert.All(callTurns, m => Assert.Equal("Checking that now.", string.Concat(m.Logprobs.Select(l => l.Token))));
        Assert.All(assistants.SelectMany(m => m.Logprobs), l => Assert.Equal(2, l.Top.Count));
        Assert.All(result.Sample.Messages.Where(m => m.Role != ChatRoles.Assistant), m => Assert.Empty(m.Logprobs));
        // Each turn records how its logprobs were produced: the template's sampling settings and the top-k asked for.
        var template = ScriptedWorld.Context(Teacher).Template.Parameters;
        Assert.All(assistants, m => Assert.Equal(new LogprobProvenance(template.Temperature, template.TopP, 2, Raw: null), m.LogprobProvenance));
    }

    [Fact]
    public async Task Tool_trace_leaves_the_privileged_policy_out_of_the_stored_messages()
    {
        var result = await ToolTrace(Tasks[2]);

        Assert.True(result.Sample.PrivilegedContextUsed);
        Assert.DoesNotContain(result.Sample.Messages, m => (m.Content ?? "").Contains("policy", StringComparison.OrdinalIgnoreCase) && m.Role == ChatRoles.System);
        var teacherSaw = _server.Requests[0].Body;
        Assert.Contains("store policy", teacherSaw, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_arguments_once_are_fed_back_and_the_trace_recovers()
    {
        _server.Enqueue(Fault.InvalidToolArguments);

        var result = await ToolTrace(Tasks[0]);

        Assert.True(result.Accepted, result.RejectReason);
        Assert.Contains(result.Sample.Messages, m => m.Role == ChatRoles.Tool && m.Content!.Contains("not valid JSON"));
        // The tool runtime flags its error on the message, so the verifier leaves that call out without re-reading the text.
        var toolTurns = result.Sample.Messages.Where(m => m.Role == ChatRoles.Tool).ToList();
        Assert.Equal([true], toolTurns.Where(m => m.IsError).Select(m => m.Content!.Contains("not valid JSON")));
        Assert.Equal(toolTurns.Count - 1, toolTurns.Count(m => !m.IsError));
        Assert.True(result.Sample.Verified);
        var second = _server.Requests[1].Body;
        Assert.Contains("not valid JSON", second);
    }

    [Fact]
    public async Task Invalid_arguments_twice_reject_the_sample()
    {
        _server.Enqueue(Fault.InvalidToolArguments, Fault.InvalidToolArguments);

        var result = await ToolTrace(Tasks[0]);

        Assert.Equal(ToolErrorReasons.InvalidArguments, result.RejectReason);
        Assert.Equal(2, _server.RequestCount);
    }

    [Fact]
    public async Task Unknown_tool_twice_rejects_the_sample_with_unknown_tool()
    {
        _server.Enqueue(Fault.UnknownTool, Fault.UnknownTool);

        var result = await ToolTrace(Tasks[0]);

        Assert.Equal(ToolErrorReasons.UnknownTool, result.RejectReason);
    }

    [Fact]
    public async Task A_tool_call_returned_as_text_rejects_the_sample_instead_of_becoming_the_answer()
    {
        _server.Enqueue(Fault.ToolCallAsText);

        var result = await ToolTrace(Tasks[0]);

        Assert.Equal(ToolTraceRecipe.MalformedToolCall, result.RejectReason);
    }

    [Fact]
    public async Task Trace_that_never_answers_hits_the_step_limit()
    {
        var result = await ToolTrace(Tasks[1], maxSteps: 1);

        Assert.Equal(ToolTraceRecipe.StepLimit, result.RejectReason);
    }

    [Theory]
    [InlineData(Fault.ContentFilter, TeacherRejectReasons.ContentFilter)]
    [InlineData(Fault.Length, TeacherRejectReasons.Truncated)]
    [InlineData(Fault.MalformedJson, TeacherRejectReasons.MalformedResponse)]
    public async Task Teacher_failures_become_rejects_with_the_reason(Fault fault, string reason)
    {
        _server.Enqueue(fault);

        var result = await ToolTrace(Tasks[0]);

        Assert.Equal(reason, result.RejectReason);
        Assert.NotEmpty(result.Sample.Messages);
    }

    [Fact]
    public async Task Cot_extracts_answer_and_rationale_and_checks_ground_truth()
    {
        _server.Options.Reply = _ => new ScriptedReply("3 items at $10.00 is $30.00, minus 10% is $27.00.\n<answer>$27.00</answer>");
        var recipe = new ChainOfThoughtRecipe(ScriptedWorld.Context(Teacher, "cot-answer") with { TopLogprobs = 2 });

        var right = await recipe.RunAsync(new SeedTask("t1", "3 items at $10 with 10% off?", ExpectedAnswer: "27"), "a", 0, default);
        var wrong = await recipe.RunAsync(new SeedTask("t2", "3 items at $10 with 20% off?", ExpectedAnswer: "$24.00"), "b", 1, default);

        Assert.True(right.Accepted);
        Assert.Equal("$27.00", right.Sample.Answer);
        Assert.StartsWith("3 items at $10.00", right.Sample.Rationale);
        Assert.True(right.Sample.Verified);
        Assert.Equal(AnswerMatcher.GroundTruth, right.Sample.Verifier);
        Assert.NotEmpty(right.Sample.Messages[^1].Logprobs);
        Assert.Equal(2, right.Sample.Messages[^1].Logprobs[0].Top.Count);
        Assert.False(wrong.Sample.Verified);
    }

    [Fact]
    public async Task Cot_without_ground_truth_keeps_the_majority_answer_with_agreement_as_score()
    {
        var n = 0;
        _server.Options.Reply = _ => new ScriptedReply(Interlocked.Increment(ref n) == 2 ? "hmm <answer>no</answer>" : "so <answer>Yes.</answer>");
        var recipe = new ChainOfThoughtRecipe(ScriptedWorld.Context(Teacher, "cot-answer") with { SelfConsistency = 3 });

        var result = await recipe.RunAsync(new SeedTask("t", "Is it refundable?"), "a", 0, default);

        Assert.True(result.Accepted);
        Assert.Equal("Yes.", result.Sample.Answer);
        Assert.Equal(2.0 / 3, result.Sample.Score!.Value, 3);
        Assert.Equal(AnswerMatcher.SelfConsistency, result.Sample.Verifier);
        Assert.Equal(3, _server.RequestCount);
    }

    [Fact]
    public async Task Cot_without_an_answer_tag_is_rejected_as_no_answer()
    {
        _server.Options.Reply = _ => new ScriptedReply("I think it is fine.");
        var recipe = new ChainOfThoughtRecipe(ScriptedWorld.Context(Teacher, "cot-answer"));

        var result = await recipe.RunAsync(new SeedTask("t", "q?", ExpectedAnswer: "x"), "a", 0, default);

        Assert.Equal(ChainOfThoughtRecipe.NoAnswer, result.RejectReason);
    }

    [Fact]
    public async Task Instruction_with_evol_deepens_the_seed_then_answers_the_rewrite()
    {
        _server.Options.Reply = r => r.GetRawText().Contains("rewrite", StringComparison.OrdinalIgnoreCase)
            ? new ScriptedReply("Where is order A10042 and will it arrive before Friday?")
            : new ScriptedReply("Let me check order A10042 for you.");
        var context = ScriptedWorld.Context(Teacher, "instruction-basic") with { EvolTemplate = ScriptedWorld.Library.Get("evol-deepen") };

        var result = await new InstructionRecipe(context).RunAsync(new SeedTask("t", "Where is order A10042?"), "a", 0, default);

        Assert.True(result.Accepted);
        Assert.Equal("Where is order A10042?", result.Sample.SeedInput);
        Assert.Contains(result.Sample.Messages, m => m.Role == ChatRoles.User && m.Content!.Contains("before Friday"));
        Assert.Equal("Let me check order A10042 for you.", result.Sample.Messages[^1].Content);
        Assert.Equal(2, _server.RequestCount);
    }

    [Fact]
    public async Task Dialogue_lets_the_simulated_customer_follow_up_until_it_says_done()
    {
        var scripted = ScriptedWorld.Reply(Tasks);
        var simulatorCalls = 0;
        _server.Options.Reply = r => r.GetRawText().Contains("You play a customer", StringComparison.Ordinal)
            ? new ScriptedReply(Interlocked.Increment(ref simulatorCalls) == 1 ? "Thanks! Could you confirm that once more?" : "[DONE]")
            : scripted(r);
        var context = ScriptedWorld.Context(Teacher) with { SimulatorTemplate = ScriptedWorld.Library.Get("user-simulator"), MaxTurns = 3, TopLogprobs = 1 };

        var result = await new DialogueRecipe(context).RunAsync(Tasks[0].ToSeedTask(), "d", 0, default);

        Assert.True(result.Accepted, result.RejectReason);
        var s = result.Sample;
        Assert.Equal(SampleKinds.Dialogue, s.Kind);
        Assert.Equal(2, simulatorCalls);
        Assert.Equal(["user", "user"], s.Messages.Where(m => m.Role == ChatRoles.User).Select(m => m.Role));
        Assert.Equal(2, s.Messages.Count(m => m.Role == ChatRoles.Assistant && m.ToolCalls.Count == 0));
        // Each agent answer keeps its own logprobs, not only the last one.
        Assert.All(s.Messages.Where(m => m.Role == ChatRoles.Assistant && m.ToolCalls.Count == 0), m => Assert.NotEmpty(m.Logprobs));
        Assert.True(s.Verified);
        Assert.DoesNotContain(s.Messages, m => (m.Content ?? "").Contains("You play a customer", StringComparison.Ordinal));
    }
}
