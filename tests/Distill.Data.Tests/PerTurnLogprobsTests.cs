using System.Text.Json.Nodes;
using Distill.Core.Errors;
using Distill.Core.Samples;

namespace Distill.Data.Tests;

/// <summary>Schema version 2: teacher logprobs on every assistant turn (<c>messages[].logprobs</c>), and version 1 datasets still read.</summary>
public class PerTurnLogprobsTests
{
    // Written by schema version 1 (SyntheticSamples.ToolTraces(3, seed 7, top-2), the third without logprobs, plus one reject):
    // 170 and 172 final-turn logprobs in the top-level teacher_logprobs column.
    private static readonly string V1Fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", "schema-v1");

    private static TokenLogprob Lp(string token, double logprob, int topK = 1) =>
        new(token, null, logprob, Enumerable.Range(0, topK).Select(k => new TopLogprob(k == 0 ? token : token + k, null, logprob - k)).ToArray());

    private static Sample TwoTurnTrace(string id, IReadOnlyList<TokenLogprob> callLogprobs, IReadOnlyList<TokenLogprob> answerLogprobs) => new()
    {
        Id = id,
        Kind = SampleKinds.ToolTrace,
        Messages =
        [
            ChatMessage.User("where is A1003?"),
            ChatMessage.Assistant(null, [new ToolCall("c1", "lookup_order", """{"order_id":"A1003"}""")], logprobs: callLogprobs),
            ChatMessage.Tool("c1", "lookup_order", """{"status":"shipped"}"""),
            ChatMessage.Assistant("It shipped.", logprobs: answerLogprobs),
        ],
        CreatedAt = new DateTimeOffset(2026, 12, 3, 0, 0, 0, TimeSpan.Zero),
    };

    [Fact]
    public async Task Every_assistant_turns_logprobs_round_trip_through_a_shard()
    {
        using var tmp = new TempDir();
        var s = TwoTurnTrace("t", [Lp("<tool_call>", -0.1, 2), Lp("A1003", -0.2, 2)], [Lp("It", -0.3), Lp(" shipped", -0.4), Lp(".", 0)]);
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path)) await writer.AppendAsync(s);

        var read = Assert.Single(await DatasetReader.Open(tmp.Path).ReadSamplesAsync().ToListAsync());
        Samples.Equal([s], [read]);
        Assert.Equal(["<tool_call>", "A1003"], read.Messages[1].Logprobs.Select(l => l.Token));
        Assert.Equal(Samples.Stored(-1.2), read.Messages[1].Logprobs[1].Top[1].Logprob, 12);
        Assert.Empty(read.Messages[2].Logprobs);
        Assert.Equal(DatasetSchema.Version, DatasetReader.Open(tmp.Path).Manifest.SchemaVersion);
    }

    [Fact]
    public async Task A_version_1_dataset_reads_its_final_turn_logprobs_onto_the_last_assistant_turn()
    {
        var reader = DatasetReader.Open(V1Fixture);
        Assert.Equal(1, reader.Manifest.SchemaVersion);
        var samples = await reader.ReadSamplesAsync().ToListAsync();

        Assert.Equal([170, 172, 0], samples.Select(s => s.Messages[^1].Logprobs.Count));
        Assert.All(samples, s => Assert.Equal(ChatRoles.Assistant, s.Messages[^1].Role));
        Assert.All(samples, s => Assert.All(s.Messages.SkipLast(1), m => Assert.Empty(m.Logprobs)));
        Assert.All(samples[0].Messages[^1].Logprobs, l => Assert.Equal(2, l.Top.Count));
        var reject = Assert.Single(await reader.ReadRejectsAsync().ToListAsync());
        Assert.Equal("step_limit", reject.RejectReason);
        Assert.Equal(170, reject.Sample.Messages[^1].Logprobs.Count);

        var report = await DatasetValidator.ValidateAsync(V1Fixture);
        Assert.Empty(report.Problems);
        Assert.Equal(4, report.RowsChecked);
    }

    [Fact]
    public async Task Resuming_a_version_1_dataset_appends_version_2_shards_and_reads_both()
    {
        using var tmp = new TempDir();
        foreach (string file in Directory.EnumerateFiles(V1Fixture, "*", SearchOption.AllDirectories))
        {
            string target = tmp.Combine(Path.GetRelativePath(V1Fixture, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        var added = TwoTurnTrace("new-1", [Lp("x", -0.5)], [Lp("y", -0.25)]);
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path))
        {
            Assert.False(await writer.AppendAsync((await DatasetReader.Open(V1Fixture).ReadSamplesAsync().FirstAsync())));
            Assert.True(await writer.AppendAsync(added));
        }

        var reader = DatasetReader.Open(tmp.Path);
        Assert.Equal(DatasetSchema.Version, reader.Manifest.SchemaVersion);
        var samples = await reader.ReadSamplesAsync().ToListAsync();
        Assert.Equal([170, 172, 0, 1], samples.Select(s => s.Messages[^1].Logprobs.Count));
        Assert.Equal(-0.5, samples[^1].Messages[1].Logprobs.Single().Logprob);
        Assert.Empty((await DatasetValidator.ValidateAsync(tmp.Path)).Problems);
    }

    [Fact]
    public void A_manifest_from_a_newer_schema_is_refused_with_what_to_do()
    {
        var json = JsonNode.Parse("""{"schema_version": 5, "shards": [], "rejects": []}""")!.ToJsonString();
        var e = Assert.Throws<DistillException>(() => DatasetManifest.Parse("m.json", json));
        Assert.Contains("schema version 5", e.Message);
        Assert.Contains("1 to 4", e.Message);
    }

    [Fact]
    public void Validate_flags_logprobs_on_a_non_assistant_turn_and_values_that_are_not_log_probabilities()
    {
        var s = TwoTurnTrace("bad", [Lp("a", 0.5)], [Lp("b", -1, 2) with { Top = [new TopLogprob("b", null, double.NaN)] }]);
        s = s with { Messages = [s.Messages[0] with { Logprobs = [Lp("u", -1)] }, .. s.Messages.Skip(1)] };

        var problems = DatasetValidator.CheckSample(s).ToList();

        Assert.Equal(3, problems.Count);
        Assert.Contains(problems, p => p.StartsWith("message 0: a user turn has teacher logprobs", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("message 1: logprobs[0] (token a) has logprob 0.5", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("message 3: logprobs[0].top (token b) has logprob NaN", StringComparison.Ordinal));
        // A hair above 0 is float rounding, and -inf is a log-probability (of an impossible token).
        Assert.Empty(DatasetValidator.CheckSample(TwoTurnTrace("ok", [Lp("a", 1e-7)], [Lp("b", double.NegativeInfinity)])));
    }

    [Fact]
    public async Task Stats_count_assistant_and_tool_call_turns_with_logprobs()
    {
        var samples = new[]
        {
            TwoTurnTrace("a", [Lp("c", -0.1, 3), Lp("d", -0.2, 3)], [Lp("e", -0.3), Lp("f", -0.4), Lp("g", -0.5)]),
            TwoTurnTrace("b", [], [Lp("h", -0.6)]),
            TwoTurnTrace("c", [], []) with { Messages = [ChatMessage.User("hi"), ChatMessage.Assistant("hello")] },
        };

        var stats = (await DatasetStatistics.ComputeAsync(samples.ToAsyncEnumerable(), null)).Logprobs;

        Assert.Equal(new LogprobStats(AssistantTurns: 5, TurnsWithLogprobs: 3, ToolCallTurns: 2, ToolCallTurnsWithLogprobs: 1,
            SamplesWithLogprobs: 2, Tokens: 6, MaxTopK: 3), stats with { ByProvenance = null });
        Assert.Equal([new KeyValuePair<string, long>("(none): not recorded", 3)], stats.ByProvenance!.ToList());
    }

    [Fact]
    public async Task Logprob_provenance_and_tool_error_flags_round_trip_and_older_files_read_without_them()
    {
        using var tmp = new TempDir();
        var raw = new LogprobProvenance(0.7, 0.9, 2, Raw: true);
        var unknown = new LogprobProvenance(null, null, 1, Raw: null);
        var s = TwoTurnTrace("t", [Lp("<tool_call>", -0.1, 2)], [Lp("It", -0.3)]);
        s = s with
        {
            Messages =
            [
                s.Messages[0],
                s.Messages[1] with { LogprobProvenance = raw },
                ChatMessage.Tool("c1", "lookup_order", """{"error": "no such order"}""", isError: true),
                s.Messages[3] with { LogprobProvenance = unknown },
            ],
        };
        await using (var writer = await DatasetWriter.OpenAsync(tmp.Path)) await writer.AppendAsync(s);

        var read = Assert.Single(await DatasetReader.Open(tmp.Path).ReadSamplesAsync().ToListAsync());
        Samples.Equal([s], [read]);
        Assert.Equal(raw, read.Messages[1].LogprobProvenance);
        Assert.True(read.Messages[2].IsError);
        Assert.Equal(unknown, read.Messages[3].LogprobProvenance);
        Assert.False(read.Messages[0].IsError);

        // Files written before these columns (here schema version 1) read as turns without provenance or error flags.
        var old = await DatasetReader.Open(V1Fixture).ReadSamplesAsync().ToListAsync();
        Assert.All(old.SelectMany(o => o.Messages), m => Assert.Null(m.LogprobProvenance));
        Assert.All(old.SelectMany(o => o.Messages), m => Assert.False(m.IsError));
    }

    [Fact]
    public async Task Stats_count_turns_by_teacher_and_logprob_provenance()
    {
        var raw = new LogprobProvenance(0.7, null, 3, Raw: true);
        var a = TwoTurnTrace("a", [Lp("c", -0.1, 3)], [Lp("e", -0.3)]) with { Teacher = new TeacherInfo("openai-compatible", "m", null) };
        a = a with { Messages = [.. a.Messages.Take(3), a.Messages[3] with { LogprobProvenance = raw }] };

        var stats = (await DatasetStatistics.ComputeAsync(new[] { a }.ToAsyncEnumerable(), null)).Logprobs;

        Assert.Equal(
        [
            new KeyValuePair<string, long>("openai-compatible/m: not recorded", 1),
            new KeyValuePair<string, long>("openai-compatible/m: temperature 0.7, top-3, raw (a temperature 1 distribution)", 1),
        ], stats.ByProvenance!.ToList());
    }

    [Fact]
    public void Inspect_shows_each_turns_logprobs_and_the_share_of_turns_that_have_them()
    {
        var s = TwoTurnTrace("t", [], [Lp("It", -0.5, 2), Lp(" shipped", -1.5, 2)]);

        var view = SampleText.ToView(s);
        string text = SampleText.Render(view);

        Assert.Null(view.Turns[1].Logprobs);
        Assert.Equal(new LogprobSummary(2, 2, -1.0, -1.5), view.Turns[3].Logprobs);
        Assert.Equal(new LogprobSummary(2, 2, -1.0, -1.5, Turns: 1, AssistantTurns: 2), view.Logprobs);
        Assert.Contains("  teacher logprobs: 2 tokens, top-2, mean -1, min -1.5", text);
        Assert.Contains("teacher logprobs: 1 of 2 assistant turns, 2 tokens, top-2, mean -1, min -1.5", text);
    }
}
