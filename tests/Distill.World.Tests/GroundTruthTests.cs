using Distill.Core.Samples;
using Distill.Generation.Recipes;
using Distill.Generation.Tools;
using Distill.World.Store;
using Distill.World.Tasks;
using Distill.World.Tools;
using static Distill.World.Tests.TestWorld;

namespace Distill.World.Tests;

/// <summary>The demonstrations are correct: replayed through the real tools they verify with score 1, for every split and tier.</summary>
public sealed class GroundTruthTests
{
    private static readonly ToolRuntime Tools = new(StoreTools.CreatePlugin(TheWorld));

    public static TheoryData<string, string> SplitsAndTiers()
    {
        var data = new TheoryData<string, string>();
        foreach (var split in WorldSplits.All)
        {
            foreach (var tier in WorldTiers.All) data.Add(split, tier);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(SplitsAndTiers))]
    public async Task Demonstrations_replayed_through_the_real_tools_verify_with_score_one(string split, string tier)
    {
        var tasks = Generate(split, 200, tier);
        // Evaluation asks each policy question once, in one of its unseen wordings; every other tier has plenty.
        Assert.Equal(split != WorldSplits.Train && tier == WorldTiers.Policy ? WorldPhrasings.Policy.Count : 200, tasks.Count);

        foreach (var task in tasks)
        {
            var messages = Demonstrations.For(task);
            var calls = messages.SelectMany(m => m.ToolCalls).ToList();
            foreach (var call in calls)
            {
                var replayed = await Tools.InvokeAsync(call);
                Assert.False(replayed.IsError, $"{task.Id} {call.Name}: {replayed.Content}");
                Assert.Equal(messages.Single(m => m.Role == ChatRoles.Tool && m.ToolCallId == call.Id).Content, replayed.Content);
            }
            var answer = messages[^1].Content!;

            var verdict = TraceVerifier.Check(calls, answer, task.ExpectedCalls, task.ExpectedAnswerFacts);

            Assert.True(verdict.Passed, $"{task.Id} ({task.Question}) scored {verdict.Score}: {answer}");
            Assert.Equal(1.0, verdict.Score);
            Assert.All(task.ExpectedAnswerFacts, fact => Assert.Contains(fact, answer, StringComparison.Ordinal));
            Assert.All(task.ForbiddenFacts, fact => Assert.DoesNotContain(fact, answer, StringComparison.OrdinalIgnoreCase));
        }
    }

    [Fact]
    public void Forbidden_facts_catch_an_answer_that_states_the_wrong_outcome()
    {
        var refunds = Generate(WorldSplits.Train, 2, WorldTiers.Refund);
        var statuses = Generate(WorldSplits.Train, 1, WorldTiers.Status);

        // The eligible task's answer is the other task's and vice versa.
        Assert.Contains(refunds[0].ForbiddenFacts, f => Demonstrations.For(refunds[1])[^1].Content!.Contains(f, StringComparison.OrdinalIgnoreCase));
        Assert.Contains(refunds[1].ForbiddenFacts, f => Demonstrations.For(refunds[0])[^1].Content!.Contains(f, StringComparison.OrdinalIgnoreCase));
        var hedge = string.Join(" or ", OrderStatus.All);
        Assert.Contains(statuses[0].ForbiddenFacts, f => hedge.Contains(f, StringComparison.Ordinal));
    }
}
