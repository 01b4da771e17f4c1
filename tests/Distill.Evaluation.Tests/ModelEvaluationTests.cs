using System.Text.Json;
using Distill.Core.Samples;
using Distill.Generation.Recipes;

namespace Distill.Evaluation.Tests;

public sealed class ModelEvaluationTests
{
    /// <param name="flaggedOnly">Failed calls marked by the message flag alone (as the tool runtime writes them); otherwise by their
    /// text alone, as rows written before the flag.</param>
    private static Sample Row(string input, bool? verified, double? score, int toolCalls, int failedCalls, double latencyMs = 100, bool flaggedOnly = false)
    {
        var messages = new List<ChatMessage> { ChatMessage.System("agent"), ChatMessage.User(input) };
        for (var i = 0; i < toolCalls; i++)
        {
            var call = new ToolCall($"call_{i}", "lookup_order", """{"order_id":"A1"}""");
            messages.Add(ChatMessage.Assistant(null, [call]));
            var failed = i < failedCalls;
            messages.Add(flaggedOnly
                ? ChatMessage.Tool(call.Id, call.Name, failed ? "order lookup failed" : """{"status":"shipped"}""", isError: failed)
                : ChatMessage.Tool(call.Id, call.Name, failed ? """{"error":"no such order"}""" : """{"status":"shipped"}"""));
        }
        messages.Add(ChatMessage.Assistant("Your order has shipped."));
        return new Sample
        {
            Id = Guid.NewGuid().ToString("N"),
            Kind = SampleKinds.ToolTrace,
            Messages = messages,
            SeedInput = input,
            Verified = verified,
            Score = score,
            CompletionTokens = 40,
            LatencyMs = latencyMs,
        };
    }

    private static SeedTask Task(string id, string kind) =>
        new(id, id, Tags: new Dictionary<string, string> { ["kind"] = kind });

    private static ScoredRow Scored(int index, string kind, Sample row, string? reject = null) =>
        new(row, reject, Task($"task-{index}", kind), index);

    private static ModelEvaluation Example() => ModelEvaluation.Score("student", "runs/student", "runs/eval/student", [
        Scored(0, "order_status", Row("status 1", verified: true, score: 1.0, toolCalls: 1, failedCalls: 0)),
        Scored(1, "refund", Row("refund 1", verified: false, score: 0.5, toolCalls: 2, failedCalls: 1)),
        Scored(2, "refund", Row("refund 2", verified: null, score: null, toolCalls: 1, failedCalls: 1, flaggedOnly: true), "invalid_tool_arguments"),
        Scored(3, "order_status", Row("status 2", verified: true, score: 1.0, toolCalls: 1, failedCalls: 0)),
    ]);

    [Fact]
    public void Success_counts_only_verified_accepted_trajectories_and_rejects_score_zero()
    {
        var e = Example();
        Assert.Equal(4, e.Tasks);
        Assert.Equal(2, e.Succeeded);
        Assert.Equal(0.5, e.SuccessRate, 12);
        // (1 + 0.5 + 0 + 1) / 4: the rejected row counts 0 even though it has no score.
        Assert.Equal(0.625, e.MeanScore, 12);
        Assert.Equal(new Dictionary<string, int> { ["invalid_tool_arguments"] = 1 }, e.Rejected);
    }

    [Fact]
    public void Tool_call_validity_is_the_share_of_calls_that_executed_without_error()
    {
        var e = Example();
        Assert.Equal(5, e.ToolCalls);
        Assert.Equal(2, e.FailedToolCalls);
        Assert.Equal(0.6, e.ToolCallValidity, 12);
    }

    [Fact]
    public void Success_is_broken_down_by_the_tasks_kind_tag_when_they_have_no_tier()
    {
        var e = Example();
        Assert.Equal(["order_status", "refund"], e.ByTag.Select(g => g.Value));
        Assert.All(e.ByTag, g => Assert.Equal("kind", g.Tag));
        Assert.Equal((2, 2), (e.ByTag[0].Tasks, e.ByTag[0].Succeeded));
        Assert.Equal((2, 0), (e.ByTag[1].Tasks, e.ByTag[1].Succeeded));
    }

    [Fact]
    public void Mean_call_latency_divides_by_model_calls_not_tasks()
    {
        // Rows with 1, 2, 1, 1 tool calls make 2, 3, 2, 2 assistant turns: 400 ms over 9 calls.
        Assert.Equal(400.0 / 9, Example().MeanCallLatencyMs, 9);
    }

    [Fact]
    public void Report_writes_tables_charts_and_every_number()
    {
        var dir = Directory.CreateTempSubdirectory("distill-eval-report-").FullName;
        try
        {
            var teacher = Example() with { Model = "teacher" };
            var path = EvaluationReport.Write(dir, [teacher, Example()], "Held-out evaluation", ["a note"]);
            var md = File.ReadAllText(path);
            // 2 of 4: Wilson [15.0, 85.0]; 2 of 2: [34.2, 100.0]; 0 of 2: [0.0, 65.8].
            Assert.Contains("| student | 4 | 50.0 % (2) [15.0, 85.0] | 0.63 | 60.0 % of 5 | 1 |", md);
            Assert.Contains("| teacher | 100.0 % of 2 [34.2, 100.0] | 0.0 % of 2 [0.0, 65.8] |", md);
            Assert.Contains("rejected: invalid_tool_arguments 1", md);
            Assert.Contains("a note", md);
            foreach (var png in new[] { "success_by_model.png", "success_by_kind.png" })
            {
                var bytes = File.ReadAllBytes(Path.Combine(dir, "charts", png));
                Assert.True(bytes.Length > 1000, png);
                Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
            }
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "evaluation.json")));
            Assert.Equal(2, json.RootElement[1].GetProperty("succeeded").GetInt32());
            Assert.Equal(0.15, json.RootElement[1].GetProperty("success_interval").GetProperty("low").GetDouble(), 3);
            Assert.Equal(4, json.RootElement[1].GetProperty("outcomes").GetArrayLength());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
