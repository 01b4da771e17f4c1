using Distill.Core.Errors;
using Distill.Core.Samples;
using Distill.Generation.Recipes;

namespace Distill.Evaluation.Tests;

public sealed class BreakdownAndSamplingTests
{
    private static Sample Row(string input, bool verified) => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        Kind = SampleKinds.ToolTrace,
        Messages = [ChatMessage.User(input), ChatMessage.Assistant("answer")],
        SeedInput = input,
        Verified = verified,
        Score = verified ? 1 : 0,
    };

    private static SeedTask Task(int index, string tier, string phrasing, string question = "same question") =>
        new($"task-{index}", question, Tags: new Dictionary<string, string> { ["tier"] = tier, ["phrasing"] = phrasing, ["kind"] = "k" });

    private static ScoredRow Scored(SeedTask task, int index, bool verified) => new(Row(task.Input, verified), null, task, index);

    private static ModelEvaluation Model(string name, params bool[] solved)
    {
        var tasks = solved.Select((_, i) => Task(i, i % 2 == 0 ? "T1" : "T2", i < 2 ? "seen" : "unseen")).ToList();
        return ModelEvaluation.Score(name, name, $"eval/{name}", tasks.Select((t, i) => Scored(t, i, solved[i])).ToList());
    }

    [Fact]
    public void Tier_and_phrasing_tags_break_results_down_even_when_every_question_is_the_same()
    {
        // Four tasks with one question text: the old question-to-kind map could only give them one kind.
        var e = Model("m", true, false, true, true);
        Assert.Equal(["tier:T1", "tier:T2", "phrasing:seen", "phrasing:unseen"], e.ByTag.Select(g => $"{g.Tag}:{g.Value}"));
        Assert.Equal([(2, 2), (2, 1), (2, 1), (2, 2)], e.ByTag.Select(g => (g.Tasks, g.Succeeded)));
        // Wilson 1 of 2.
        Assert.Equal(0.0945, e.ByTag[1].SuccessInterval.Low, tolerance: 0.0001);
        Assert.Equal(0.9055, e.ByTag[1].SuccessInterval.High, tolerance: 0.0001);
    }

    [Fact]
    public void Breakdown_uses_kind_only_when_tasks_have_no_tier()
    {
        Assert.Equal(["tier", "phrasing"], ModelEvaluation.BreakdownTags([new Dictionary<string, string> { ["tier"] = "T0", ["phrasing"] = "seen", ["kind"] = "x" }]));
        Assert.Equal(["kind"], ModelEvaluation.BreakdownTags([new Dictionary<string, string> { ["kind"] = "x" }]));
        Assert.Empty(ModelEvaluation.BreakdownTags([new Dictionary<string, string>()]));
    }

    [Fact]
    public void Pass_at_k_comes_from_the_sampled_attempts_of_each_task()
    {
        var a = Task(0, "T1", "seen");
        var b = Task(1, "T1", "seen");
        // Task a: 2 of 4 sampled attempts succeed; task b: 0 of 4.
        var sampled = new[] { true, false, true, false }.Select(s => Scored(a, 0, s))
            .Concat(Enumerable.Range(0, 4).Select(_ => Scored(b, 1, false))).ToList();
        var e = ModelEvaluation.Score("m", "m", "eval/m", [Scored(a, 0, true), Scored(b, 1, false)], sampled, samples: 4, temperature: 0.8);

        Assert.Equal(0.5, e.SuccessRate, 12);
        Assert.Equal((4, 2), (e.Outcomes[0].SampledAttempts, e.Outcomes[0].SampledSuccesses));
        var s = e.Sampling!;
        Assert.Equal([1, 4], s.PassAtK.Keys);
        // pass@1: (2/4 + 0) / 2; pass@4: (1 + 0) / 2.
        Assert.Equal(0.25, s.PassAtK[1], 12);
        Assert.Equal(0.5, s.PassAtK[4], 12);
    }

    [Fact]
    public void Greedy_only_evaluation_has_no_sampling_score() => Assert.Null(Model("m", true).Sampling);

    [Fact]
    public void Report_shows_intervals_per_tier_pass_at_k_and_the_requested_mcnemar_lines()
    {
        var dir = Directory.CreateTempSubdirectory("distill-eval-pairs-").FullName;
        try
        {
            // 12 tasks: the candidate alone solves 10, the baseline alone 0, both solve 2.
            var baseline = Model("baseline", [.. Enumerable.Range(0, 12).Select(i => i < 2)]);
            var candidate = Model("student-kd", [.. Enumerable.Range(0, 12).Select(_ => true)]);
            var path = EvaluationReport.Write(dir, [baseline, candidate], "t", [], [("baseline", "student-kd")]);
            var md = File.ReadAllText(path);
            Assert.Contains("## Task success by tier", md);
            Assert.Contains("## Task success by phrasing", md);
            // T1 of the baseline: tasks 0, 2, 4, 6, 8, 10 -> 1 of 6 solved, Wilson [3.0, 56.4].
            Assert.Contains("| baseline | 16.7 % of 6 [3.0, 56.4] |", md);
            // b = 0, c = 10: p = 2 / 2^10.
            Assert.Contains("- **student-kd vs baseline** on 12 shared tasks: student-kd alone solved 10, baseline alone 0 (both 2, neither 0); p = 0.0020: student-kd is better at the 5 % level.", md);
            Assert.True(File.Exists(Path.Combine(dir, "charts", "success_by_tier.png")));
            Assert.True(File.Exists(Path.Combine(dir, "comparisons.json")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_comparison_of_a_model_that_was_not_evaluated_says_which_ones_were()
    {
        var e = Assert.Throws<DistillException>(() => PairedComparison.Of([Model("a", true)], [("a", "b")]));
        Assert.Contains("'b'", e.Message, StringComparison.Ordinal);
        Assert.Contains("a", e.Hint, StringComparison.Ordinal);
    }
}
