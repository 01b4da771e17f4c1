using Distill.Core.Samples;
using Distill.Generation.Recipes;
using Distill.World.Tasks;

namespace Distill.Generation.Tests.Recipes.Verification;

public sealed class TraceVerifierTests
{
    private static ExpectedToolCall Expected(string name, params (string Key, string Value)[] args) =>
        new(name, args.ToDictionary(a => a.Key, a => a.Value));

    private static ToolCall Call(string name, string arguments) => new("call_1", name, arguments);

    public static TheoryData<string, string, bool> Arguments => new()
    {
        // arguments JSON, expected order id, whether the call matches
        { """{"order_id":"A10042"}""", "A10042", true },
        { """{"order_id":"  a10042 "}""", "A10042", true },
        { """{"order_id":"A10043"}""", "A10042", false },
        { """{"order_id":"A100420"}""", "A10042", false },
        { """{"order_id":"A10042","note":"x"}""", "A10042", false },
        { """{"orderid":"A10042"}""", "A10042", false },
        { """{}""", "A10042", false },
        { """not json""", "A10042", false },
        { """["A10042"]""", "A10042", false },
    };

    [Theory]
    [MemberData(nameof(Arguments))]
    public void Tool_calls_match_by_name_and_exact_arguments(string arguments, string orderId, bool passes)
    {
        var verdict = TraceVerifier.Check([Call("lookup_order", arguments)], "", [Expected("lookup_order", ("order_id", orderId))], null);
        Assert.Equal(passes, verdict.Passed);
    }

    [Fact]
    public void Numbers_compare_by_value_and_calculator_expressions_by_result()
    {
        Assert.True(TraceVerifier.Check([Call("wait", """{"days":5.0}""")], "", [Expected("wait", ("days", "5"))], null).Passed);
        Assert.False(TraceVerifier.Check([Call("wait", """{"days":6}""")], "", [Expected("wait", ("days", "5"))], null).Passed);
        Assert.True(TraceVerifier.Check([Call("calculator", """{"expression":"3*19.99*0.9"}""")], "", [Expected("calculator", ("expression", "3 * 19.99 * 0.90"))], null).Passed);
        Assert.False(TraceVerifier.Check([Call("calculator", """{"expression":"3*19.99"}""")], "", [Expected("calculator", ("expression", "3 * 19.99 * 0.90"))], null).Passed);
        Assert.False(TraceVerifier.Check([Call("calculator", """{"expression":"1/0"}""")], "", [Expected("calculator", ("expression", "1"))], null).Passed);
    }

    [Fact]
    public void A_call_whose_expected_arguments_are_empty_may_pass_any_arguments()
    {
        // search_kb: the query is the customer's own words, so the task names no arguments.
        var verdict = TraceVerifier.Check([Call("search_kb", """{"query":"refund time"}""")], "Refunds take 5 business days.", [Expected("search_kb")], ["5 business days"]);
        Assert.True(verdict.Passed);
    }

    [Fact]
    public void Wrong_tool_order_fails_and_scores_partial_credit()
    {
        var expected = new[] { Expected("lookup_order", ("order_id", "A1")), Expected("track_shipment", ("tracking_number", "T1")) };
        var verdict = TraceVerifier.Check([Call("track_shipment", """{"tracking_number":"T1"}"""), Call("lookup_order", """{"order_id":"A1"}""")],
            "It arrives on 2026-03-14.", expected, ["2026-03-14"]);
        Assert.False(verdict.Passed);
        // 4 checks (order, two arguments, one fact): only the fact passes, the arguments sit at the wrong positions.
        Assert.Equal(0.25, verdict.Score, 12);
    }

    [Fact]
    public void Stating_a_forbidden_fact_fails_an_otherwise_correct_answer()
    {
        var expected = new[] { Expected("lookup_order", ("order_id", "A1")) };
        var calls = new[] { Call("lookup_order", """{"order_id":"A1"}""") };
        string[] forbidden = ["delivered", "processing", "cancelled"];
        var hedge = TraceVerifier.Check(calls, "Your order is shipped or delivered.", expected, ["shipped"], forbidden);
        var right = TraceVerifier.Check(calls, "Your order is shipped, it is not delivered yet.", expected, ["shipped"], forbidden);
        Assert.False(hedge.Passed);
        Assert.Equal(3.0 / 4, hedge.Score, 12);
        Assert.True(right.Passed);
        Assert.Equal(1.0, right.Score, 12);
    }

    [Fact]
    public void Not_eligible_never_satisfies_eligible()
    {
        var expected = new[] { Expected("check_refund_eligibility", ("order_id", "A1"), ("reason", "damaged")) };
        var calls = new[] { Call("check_refund_eligibility", """{"order_id":"A1","reason":"damaged"}""") };
        Assert.False(TraceVerifier.Check(calls, "Sorry, the order is not eligible for a refund of $10.00.", expected, ["eligible", "$10.00"]).Passed);
        Assert.True(TraceVerifier.Check(calls, "Sorry, the order is not eligible for a refund.", expected, ["not eligible"]).Passed);
    }

    [Theory]
    [InlineData("$27.00", "27", true)]
    [InlineData("27", "$27.00", true)]
    [InlineData("$127.00", "27", false)]
    [InlineData("Yes.", "yes", true)]
    [InlineData("not refundable", "refundable", false)]
    public void Cot_answers_compare_by_value_and_statement(string answer, string expected, bool matches) =>
        Assert.Equal(matches, AnswerMatcher.Matches(answer, expected));
}

public sealed class WorldDemonstrationVerificationTests
{
    [Theory]
    [InlineData(Distill.World.Store.WorldSplits.Train)]
    [InlineData(Distill.World.Store.WorldSplits.HeldOut)]
    public void Every_correct_world_trajectory_passes_the_verifier(string split)
    {
        var world = new Distill.World.Store.StoreWorld();
        var demonstrations = new ScriptedDemonstrations(world);
        foreach (var task in new WorldTaskGenerator(world).Generate(split, 300))
        {
            var messages = demonstrations.For(task);
            var verdict = TraceVerifier.Check(messages.SelectMany(m => m.ToolCalls).ToList(), messages[^1].Content!, task.ExpectedCalls, task.ExpectedAnswerFacts, task.ForbiddenFacts);
            Assert.True(verdict.Passed, $"{task.Id}: {messages[^1].Content}");
        }
    }
}
