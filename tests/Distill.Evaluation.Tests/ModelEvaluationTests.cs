using System.Text.Json;
using Distill.Core.Samples;

namespace Distill.Evaluation.Tests;

public sealed class ModelEvaluationTests
{
    private static Sample Row(string input, bool? verified, double? score, int toolCalls, int failedCalls, double latencyMs = 100)
    {
        var messages = new List<ChatMessage> { ChatMessage.System("agent"), ChatMessage.User(input) };
        for (var i = 0; i < toolCalls; i++)
        {
            var call = new ToolCall($"call_{i}", "lookup_order", """{"order_id":"A1"}""");
            messages.Add(ChatMessage.Assistant(null, [call]));
            messages.Add(ChatMessage.Tool(call.Id, call.Name, i < failedCalls ? """{"error":"no such order"}""" : """{"status":"shipped"}"""));
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

    private static string KindOf(string input) => input.StartsWith("refund", StringComparison.Ordinal) ? "refund" : "order_status";

    private static ModelEvaluation Example() => ModelEvaluation.Score("student", "runs/student", "runs/eval/student", [
        (Row("status 1", verified: true, score: 1.0, toolCalls: 1, failedCalls: 0), null),
        (Row("refund 1", verified: false, score: 0.5, toolCalls: 2, failedCalls: 1), null),
        (Row("refund 2", verified: null, score: null, toolCalls: 1, failedCalls: 1), "invalid_tool_arguments"),
        (Row("status 2", verified: true, score: 1.0, toolCalls: 1, failedCalls: 0), null),
    ], KindOf);

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
    public void Success_is_broken_down_by_task_kind()
    {
        var e = Example();
        Assert.Equal(["order_status", "refund"], e.ByKind.Select(k => k.Kind));
        Assert.Equal((2, 2), (e.ByKind[0].Tasks, e.ByKind[0].Succeeded));
        Assert.Equal((2, 0), (e.ByKind[1].Tasks, e.ByKind[1].Succeeded));
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
            Assert.Contains("| student | 4 | 50.0 % (2) | 0.63 | 60.0 % of 5 | 1 |", md);
            Assert.Contains("| teacher | 100.0 % of 2 | 0.0 % of 2 |", md);
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
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
