using System.Text.Json;
using Distill.Core.Errors;
using Distill.Core.Samples;

namespace Distill.Data.Tests;

public class StatisticsTests
{
    [Fact]
    public async Task Stats_count_kinds_templates_teachers_verification_rejects_tokens_and_cost()
    {
        using var tmp = new TempDir();
        var traces = Samples.ToolTraces(4);
        var cot = Samples.Sparse("cot-1", SampleKinds.ChainOfThought) with
        {
            TemplateId = "math/cot",
            TemplateVersion = "v2",
            Teacher = new TeacherInfo("azure-openai", "gpt-4o", null),
            Verified = false,
            CostUsd = 0.5,
            PromptTokens = 100,
            CompletionTokens = 200,
        };
        var noCounts = Samples.Sparse("est-1") with
        {
            Messages = [ChatMessage.User(new string('a', 1000)), ChatMessage.Assistant(new string('b', 2998))],
            CostUsd = 0.25,
        };
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path, new DatasetWriterOptions { ShardRows = 2 }))
        {
            foreach (var s in traces) await writer.AppendAsync(s);
            await writer.AppendAsync(cot);
            await writer.AppendAsync(noCounts);
            await writer.RejectAsync(new(Samples.Sparse("r1") with { CostUsd = 1.0, TemplateId = "math/cot", TemplateVersion = "v2" }, "verifier_failed"));
            await writer.RejectAsync(new(Samples.Sparse("r2") with { CostUsd = 0.25 }, "verifier_failed"));
            await writer.RejectAsync(new(Samples.Sparse("r3"), "duplicate"));
        }

        var stats = await DatasetStatistics.ComputeAsync(DatasetReader.Open(tmp.Path));

        Assert.Equal(6, stats.Accepted);
        Assert.Equal(3, stats.Rejected);
        Assert.Equal(new Dictionary<string, long> { ["cot"] = 1, ["instruction"] = 1, ["tool_trace"] = 4 }, stats.ByKind);
        Assert.Equal(4, stats.ByTemplate["support/order-status@sha256:5e1f0c"]);
        Assert.Equal(1, stats.ByTemplate["math/cot@v2"]);
        Assert.Equal(1, stats.ByTemplate["(none)"]);
        Assert.Equal(4, stats.ByTeacher["local/distill-teacher-tiny"]);
        Assert.Equal(1, stats.ByTeacher["azure-openai/gpt-4o"]);
        Assert.Equal(traces.Count(s => s.Verified == true), stats.ByVerified.GetValueOrDefault("verified"));
        Assert.Equal(1 + traces.Count(s => s.Verified == false), stats.ByVerified["failed"]);
        Assert.Equal(1, stats.ByVerified["unverified"]);
        Assert.Equal(new Dictionary<string, long> { ["duplicate"] = 1, ["verifier_failed"] = 2 }, stats.RejectsByReason);
        Assert.Equal(1, stats.RejectsByTemplate["math/cot@v2"]);

        Assert.Equal(6, stats.Tokens.Buckets.Sum(b => b.Count));
        Assert.Equal(1, stats.Tokens.Estimated);
        Assert.Equal(300, stats.Tokens.Min); // the cot sample: 100 prompt + 200 completion
        Assert.Equal(1000, stats.Tokens.Max); // estimated: ceil(3998 chars / 4)
        Assert.Equal(1, stats.Tokens.Buckets.Single(b => b.From == 512 && b.To == 1024).Count);
        Assert.Equal(0, stats.Tokens.Buckets.Single(b => b.From == 0).Count);
        Assert.Null(stats.Tokens.Buckets[^1].To);

        double acceptedCost = traces.Sum(s => s.CostUsd) + 0.75;
        Assert.Equal(acceptedCost, stats.AcceptedCostUsd, 9);
        Assert.Equal(acceptedCost + 1.25, stats.TotalCostUsd, 9);
        Assert.Equal((acceptedCost + 1.25) / 6, stats.CostPerAcceptedSample, 9);
    }

    [Fact]
    public async Task Stats_of_an_empty_dataset_are_zero()
    {
        using var tmp = new TempDir();
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path)) await writer.FlushAsync();

        var stats = await DatasetStatistics.ComputeAsync(DatasetReader.Open(tmp.Path));
        Assert.Equal(0, stats.Accepted);
        Assert.Equal(0, stats.CostPerAcceptedSample);
        Assert.Equal(0, stats.Tokens.Min);
    }
}

public class ExportTests
{
    [Fact]
    public async Task Jsonl_export_lines_parse_and_match_the_samples()
    {
        using var tmp = new TempDir();
        string dir = tmp.Combine("ds");
        var input = Samples.ToolTraces(5);
        input.Add(Samples.Sparse("sparse"));
        await using (var writer = await DatasetWriter.OpenAsync(dir, new DatasetWriterOptions { ShardRows = 4 }))
            foreach (var s in input) await writer.AppendAsync(s);

        var result = await DatasetExporter.ExportAsync(dir, tmp.Combine("out", "train.jsonl"), DatasetExporter.ParseFormat("jsonl"));

        Assert.Equal(6, result.Rows);
        var lines = await File.ReadAllLinesAsync(result.Path);
        Assert.Equal(6, lines.Length);
        for (int i = 0; i < input.Count; i++)
        {
            var s = input[i];
            using var doc = JsonDocument.Parse(lines[i]);
            var o = doc.RootElement;
            Assert.Equal(s.Id, o.GetProperty("id").GetString());
            Assert.Equal(s.Kind, o.GetProperty("kind").GetString());
            Assert.Equal(s.Answer, o.GetProperty("answer").GetString());
            Assert.False(o.TryGetProperty("teacher_logprobs", out _));
            var messages = o.GetProperty("messages").EnumerateArray().ToArray();
            Assert.All(messages, m => Assert.False(m.TryGetProperty("logprobs", out _)));
            Assert.Equal(s.Messages.Count, messages.Length);
            for (int m = 0; m < messages.Length; m++)
            {
                var expected = s.Messages[m];
                Assert.Equal(expected.Role, messages[m].GetProperty("role").GetString());
                Assert.Equal(expected.Content, messages[m].GetProperty("content").GetString());
                Assert.Equal(expected.Reasoning, messages[m].TryGetProperty("reasoning_content", out var r) ? r.GetString() : null);
                Assert.Equal(expected.ToolCallId, messages[m].TryGetProperty("tool_call_id", out var id) ? id.GetString() : null);
                var calls = messages[m].TryGetProperty("tool_calls", out var c) ? c.EnumerateArray().ToArray() : [];
                Assert.Equal(expected.ToolCalls.Select(x => (x.Id, "function", x.Name, x.Arguments)),
                    calls.Select(x => (x.GetProperty("id").GetString()!, x.GetProperty("type").GetString()!,
                        x.GetProperty("function").GetProperty("name").GetString()!, x.GetProperty("function").GetProperty("arguments").GetString()!)));
            }
            if (s.Tools is null) Assert.Equal(JsonValueKind.Null, o.GetProperty("tools").ValueKind);
            else Assert.Equal(JsonValueKind.Array, o.GetProperty("tools").ValueKind);
            Assert.Equal(s.Teacher?.Model, o.GetProperty("teacher").ValueKind == JsonValueKind.Null ? null : o.GetProperty("teacher").GetProperty("model").GetString());
            Assert.Equal(s.CostUsd, o.GetProperty("cost_usd").GetDouble());
        }
        Assert.Empty(Directory.GetFiles(tmp.Combine("out"), "*.tmp"));
    }

    [Fact]
    public async Task Jsonl_export_can_include_logprobs_and_writes_non_finite_ones_as_null()
    {
        using var tmp = new TempDir();
        var s = Samples.Sparse("lp");
        s = s with
        {
            Messages = [s.Messages[0], s.Messages[1] with
            {
                Logprobs = [new TokenLogprob("a", 5, -0.25, [new TopLogprob("a", 5, -0.25), new TopLogprob("b", null, double.NegativeInfinity)])],
            }],
        };
        var result = await DatasetExporter.ExportJsonlAsync(new[] { s }.ToAsyncEnumerable(), tmp.Combine("lp.jsonl"), new ExportOptions { IncludeLogprobs = true });

        using var doc = JsonDocument.Parse(Assert.Single(await File.ReadAllLinesAsync(result.Path)));
        var messages = doc.RootElement.GetProperty("messages");
        Assert.False(messages[0].TryGetProperty("logprobs", out _));
        var top = messages[1].GetProperty("logprobs")[0].GetProperty("top");
        Assert.Equal(-0.25, top[0].GetProperty("logprob").GetDouble());
        Assert.Equal(JsonValueKind.Null, top[1].GetProperty("logprob").ValueKind);
        Assert.Equal(JsonValueKind.Null, top[1].GetProperty("token_id").ValueKind);
    }

    [Fact]
    public async Task Parquet_export_merges_all_shards_into_one_readable_file()
    {
        using var tmp = new TempDir();
        string dir = tmp.Combine("ds");
        var input = Samples.ToolTraces(11);
        await using (var writer = await DatasetWriter.OpenAsync(dir, new DatasetWriterOptions { ShardRows = 3 }))
            foreach (var s in input) await writer.AppendAsync(s);

        var result = await DatasetExporter.ExportAsync(dir, tmp.Combine("merged.parquet"), ExportFormat.Parquet, new ExportOptions { RowGroupRows = 4 });

        Assert.Equal(11, result.Rows);
        Samples.Equal(input, await DatasetReader.ReadFileAsync(result.Path).ToListAsync());
    }

    [Fact]
    public void Unknown_export_format_is_a_user_error()
    {
        var e = Assert.Throws<DistillException>(() => DatasetExporter.ParseFormat("csv"));
        Assert.Contains("csv", e.Message);
    }
}

public class SampleTextTests
{
    [Fact]
    public void View_shows_turns_tool_calls_results_reasoning_and_lineage()
    {
        var s = Samples.ToolTraces(1, topK: 2)[0];
        var v = SampleText.ToView(s);

        Assert.Equal(s.Messages.Count, v.Turns.Count);
        var call = v.Turns[2].ToolCalls.Single();
        Assert.Equal("lookup_order", call.Name);
        Assert.True(call.ArgumentsAreValidJson);
        Assert.Contains("\"order_id\"", call.Arguments);
        Assert.Equal("The customer asks about an order; look it up first.", v.Turns[2].Reasoning);
        Assert.Same(call, v.Turns[3].Answers);
        Assert.Equal(["lookup_order", "track_shipment", "refund_eligibility"], v.ToolNames);
        Assert.Contains(v.Lineage, kv => kv.Key == "teacher" && kv.Value.Contains("distill-teacher-tiny"));
        Assert.Contains(v.Lineage, kv => kv.Key == "params" && kv.Value.Contains("temperature=0.7"));
        Assert.Equal(2, v.Logprobs!.TopK);
        var assistants = s.Messages.Where(m => m.Role == ChatRoles.Assistant).ToArray();
        Assert.Equal(assistants.Sum(m => m.Logprobs.Count), v.Logprobs.Tokens);
        Assert.Equal(assistants.Length, v.Logprobs.Turns);
        Assert.Equal(assistants.Length, v.Logprobs.AssistantTurns);
        Assert.Equal(s.Messages[2].Logprobs.Count, v.Turns[2].Logprobs!.Tokens);
        Assert.Null(v.Turns[3].Logprobs);

        string text = SampleText.Render(v);
        Assert.Contains("-> call lookup_order (call_1)", text);
        Assert.Contains("result of lookup_order call call_1", text);
    }

    [Fact]
    public void View_flags_invalid_arguments_and_unanswered_tool_results()
    {
        var s = Samples.Sparse("bad") with
        {
            Messages = [ChatMessage.Assistant(null, [new ToolCall("c1", "f", "{oops")]), ChatMessage.Tool("c2", "f", "{}")],
        };
        var v = SampleText.ToView(s, rejectReason: "invalid_tool_call");

        Assert.False(v.Turns[0].ToolCalls[0].ArgumentsAreValidJson);
        Assert.Equal("{oops", v.Turns[0].ToolCalls[0].Arguments);
        Assert.Null(v.Turns[1].Answers);
        string text = SampleText.Render(v);
        Assert.Contains("INVALID JSON", text);
        Assert.Contains("NO MATCHING CALL", text);
        Assert.Contains("REJECTED: invalid_tool_call", text);
    }
}
