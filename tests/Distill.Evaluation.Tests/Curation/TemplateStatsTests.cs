using System.Text.Json;
using Distill.Core.Samples;
using Distill.Data.Lineage;
using Distill.Evaluation.Curation;

namespace Distill.Evaluation.Tests.Curation;

public class TemplateStatsTests
{
    private static Sample Trace(string id, string question, string arguments, string toolResult, bool? verified, string version = "v1") => new()
    {
        Id = id,
        Kind = SampleKinds.ToolTrace,
        Messages =
        [
            ChatMessage.User(question),
            ChatMessage.Assistant(null, [new ToolCall("c1", "lookup_order", arguments)]),
            ChatMessage.Tool("c1", "lookup_order", toolResult),
            ChatMessage.Assistant("The answer to " + question),
        ],
        TemplateId = "agent",
        TemplateVersion = version,
        Verified = verified,
        PromptTokens = 10,
        CompletionTokens = 5,
        CostUsd = 0.01,
    };

    [Fact]
    public void Yield_rejects_verification_duplicates_tool_calls_and_cost_are_counted_per_version()
    {
        var builder = new TemplateStatsBuilder();
        builder.Add(Trace("1", "Where is order A10001 shipped today?", "{\"order_id\":\"A10001\"}", "{\"status\":\"shipped\"}", true), null, "d");
        builder.Add(Trace("2", "Can I get a refund for a broken blender?", "{bad", "{\"status\":\"x\"}", false), null, "d");
        builder.Add(Trace("3", "Where is order A10001 shipped today?", "{\"order_id\":\"A10001\"}", "{\"status\":\"shipped\"}", true), null, "d");
        builder.Add(Trace("4", "What does the knowledge base say about gift cards?", "{\"order_id\":\"Z\"}", "{\"error\":\"unknown order\"}", false), "step_limit", "d");
        builder.Add(Trace("5", "q", "{}", "{}", true, "v2") with { Verifier = "self_consistency", Score = 2.0 / 3 }, null, "d");
        builder.Add(Trace("6", "r", "{}", "{}", true, "v2") with { Verifier = "self_consistency", Score = 1.0 }, null, "d");

        var stats = builder.Build();

        Assert.Equal(["agent@v1", "agent@v2"], stats.Select(s => s.Key));
        var v1 = stats[0];
        Assert.Equal(4, v1.Attempted);
        Assert.Equal(3, v1.Accepted);
        Assert.Equal(new Dictionary<string, int> { ["step_limit"] = 1 }, v1.RejectsByReason);
        Assert.Equal(2, v1.Verified);
        Assert.Equal(0.5, v1.VerificationPassRate);
        Assert.Equal(0.25, v1.ExactDuplicateRate);
        Assert.Equal(0, v1.NearDuplicateRate);
        // Calls 1 and 3 valid; 2 has unparseable arguments; 4's result is an error.
        Assert.Equal((4, 2), (v1.ToolCalls, v1.ValidToolCalls));
        Assert.Equal(60.0 / 3, v1.TokensPerAccepted);
        Assert.Equal(0.04 / 3, v1.CostPerAccepted!.Value, 12);
        Assert.Equal(2 / 0.04, v1.VerifiedPerDollar!.Value, 9);
        Assert.Null(v1.SelfConsistencyAgreement);
        var v2 = stats[1];
        Assert.Equal((1.0 + 2.0 / 3) / 2, v2.SelfConsistencyAgreement!.Value, 12);
        Assert.Equal(2, v2.SelfConsistencyRows);
    }

    [Fact]
    public void Assistant_words_are_the_content_and_reasoning_of_assistant_turns()
    {
        var sample = Trace("1", "Hi there", "{}", "{}", true) with
        {
            Messages = [ChatMessage.User("ignored words"), ChatMessage.Assistant("Two words", reasoning: "think first")],
        };
        Assert.Equal(["think", "first", "two", "words"], TemplateStatsBuilder.AssistantWords(sample));
    }

    [Fact]
    public void An_evaluated_students_lineage_credits_its_score_to_every_template_version_it_was_trained_on()
    {
        var dir = Directory.CreateTempSubdirectory("distill-student-scores-").FullName;
        try
        {
            var baseRun = new RunLineage { Datasets = [], Templates = [new LineageTemplate("agent", "v0", 3)] };
            var evaluation = ModelEvaluation.Score("kd", "runs/kd", "eval/kd", []) with
            {
                Lineage = new RunLineage { Datasets = [], Templates = [new LineageTemplate("agent", "v1", 5)], Base = baseRun },
            };
            var untraced = ModelEvaluation.Score("teacher", "azure", "eval/t", []);
            var file = Path.Combine(dir, "sub", StudentScores.EvaluationFile);
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            // The same options evaluation.json is written with (EvaluationReport).
            File.WriteAllText(file, JsonSerializer.Serialize(new[] { evaluation, untraced }, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));

            var scores = StudentScores.Find([dir, Path.Combine(dir, "missing")]);

            Assert.Equal(["agent@v0", "agent@v1"], scores.Keys.Order());
            Assert.Equal("kd", scores["agent@v1"].Single().Model);
            Assert.Equal(file, scores["agent@v0"].Single().Evaluation);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
