using System.Text;
using Distill.Core.Errors;
using Distill.Core.Samples;
using Distill.Data.Curation;

namespace Distill.Data.Tests.Curation;

public class CurationLogTests
{
    private static async Task<string> DatasetAsync(TempDir tmp, int samples = 3)
    {
        await using var writer = await DatasetWriter.OpenAsync(tmp.Path);
        foreach (var s in Samples.ToolTraces(samples)) await writer.AppendAsync(s);
        return tmp.Path;
    }

    [Fact]
    public async Task The_last_decision_per_sample_counts_and_revisions_count_decisions()
    {
        using var tmp = new TempDir();
        var dir = await DatasetAsync(tmp);

        Assert.Equal(1, await CurationLog.AppendAsync(dir, CurationDecision.Reject("a", "wrong tool")));
        Assert.Equal(1, await CurationLog.AppendAsync(dir, CurationDecision.Accept("b")));
        Assert.Equal(2, await CurationLog.AppendAsync(dir, CurationDecision.Accept("a")));

        var state = CurationLog.Load(dir);
        Assert.Equal(3, state.Decisions);
        Assert.Equal(CurationAction.Accept, state.Find("a")!.Decision.Action);
        Assert.Equal(2, state.RevisionOf("a"));
        Assert.Equal(1, state.RevisionOf("b"));
        Assert.Equal(0, state.RevisionOf("never"));
    }

    [Fact]
    public async Task An_edit_round_trips_with_tool_calls_and_unicode()
    {
        using var tmp = new TempDir();
        var dir = await DatasetAsync(tmp);
        var messages = new[]
        {
            ChatMessage.User("héllo <script>alert(1)</script>"),
            ChatMessage.Assistant(null, [new ToolCall("call_1", "lookup_order", """{"order_id":"A1"}""")], reasoning: "look it up"),
            ChatMessage.Tool("call_1", "lookup_order", "{}", isError: true),
            ChatMessage.Assistant("done \"quoted\"\nline"),
        };
        await CurationLog.AppendAsync(dir, CurationDecision.Edit("a", messages, answer: "done"));

        var read = CurationLog.Load(dir).Find("a")!.Decision;
        Assert.Equal(CurationAction.Edit, read.Action);
        Assert.Equal("done", read.Answer);
        Assert.Null(read.Rationale);
        Assert.Equal(messages.Length, read.Messages!.Count);
        Assert.All(messages.Zip(read.Messages), pair => Assert.True(CuratedView.SameText(pair.First, pair.Second)));
    }

    [Fact]
    public async Task A_torn_last_line_is_ignored_and_the_next_append_cuts_it_off()
    {
        using var tmp = new TempDir();
        var dir = await DatasetAsync(tmp);
        await CurationLog.AppendAsync(dir, CurationDecision.Reject("a", "off topic"));
        var path = CurationLog.PathFor(dir);
        // A crash in the middle of the second append: half a line, no newline.
        await File.AppendAllTextAsync(path, """{"id":"b","decision":"rej""");

        Assert.Equal(1, CurationLog.Load(dir).Decisions);

        await CurationLog.AppendAsync(dir, CurationDecision.Accept("c"));
        var lines = (await File.ReadAllTextAsync(path)).Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.Equal("", lines[2]);
        Assert.DoesNotContain("\"rej\"", lines[1] + lines[0], StringComparison.Ordinal);
        Assert.Contains("\"c\"", lines[1], StringComparison.Ordinal);
        var state = CurationLog.Load(dir);
        Assert.Equal(2, state.Decisions);
        Assert.Null(state.Find("b"));
    }

    [Fact]
    public async Task A_hand_edited_nonsense_line_stops_readers_and_writers_with_its_line_number_and_changes_nothing()
    {
        using var tmp = new TempDir();
        var dir = await DatasetAsync(tmp);
        await CurationLog.AppendAsync(dir, CurationDecision.Accept("a"));
        var path = CurationLog.PathFor(dir);
        await File.AppendAllTextAsync(path, "this is not json\n");
        var before = await File.ReadAllBytesAsync(path);

        var read = Assert.Throws<DistillException>(() => CurationLog.Load(dir));
        Assert.Contains("Line 2 of", read.Message, StringComparison.Ordinal);
        var write = await Assert.ThrowsAsync<DistillException>(() => CurationLog.AppendAsync(dir, CurationDecision.Accept("b")));
        Assert.Contains("Line 2 of", write.Message, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllBytesAsync(path));
    }

    [Theory]
    [InlineData("""{"id":"a","decision":"maybe","at":"2026-01-01T00:00:00Z"}""", "not a JSON decision")]
    [InlineData("""{"id":"a","at":"2026-01-01T00:00:00Z"}""", "no \"decision\"")]
    [InlineData("""{"id":"a","decision":"reject","at":"2026-01-01T00:00:00Z"}""", "a reject needs a reason")]
    [InlineData("""{"id":"a","decision":"edit","at":"2026-01-01T00:00:00Z"}""", "an edit needs the edited messages")]
    [InlineData("""{"id":"a","decision":"edit","messages":[{"role":"robot","content":"x"}]}""", "unknown role 'robot'")]
    [InlineData("""{"decision":"accept"}""", "no sample id")]
    [InlineData("""[1,2]""", "not a JSON decision")]
    public void Each_kind_of_bad_line_says_what_is_wrong(string line, string expected)
    {
        var error = Assert.Throws<DistillException>(() => CurationLog.Parse(Encoding.UTF8.GetBytes(line + "\n"), "curation.jsonl"));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_decision_against_a_stale_revision_is_refused_as_a_conflict()
    {
        using var tmp = new TempDir();
        var dir = await DatasetAsync(tmp);
        // Two tabs load sample a at revision 0; the first decides, the second's decision is refused.
        Assert.Equal(1, await CurationLog.AppendAsync(dir, CurationDecision.Accept("a"), expectedRevision: 0));
        var conflict = await Assert.ThrowsAsync<CurationConflictException>(
            () => CurationLog.AppendAsync(dir, CurationDecision.Reject("a", "bad"), expectedRevision: 0));

        Assert.Equal(1, conflict.CurrentRevision);
        Assert.Equal(CurationAction.Accept, CurationLog.Load(dir).Find("a")!.Decision.Action);
    }

    [Fact]
    public async Task Concurrent_appends_all_land_as_whole_lines()
    {
        using var tmp = new TempDir();
        var dir = await DatasetAsync(tmp);
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() => CurationLog.AppendAsync(dir, CurationDecision.Reject($"s{i % 5}", $"reason {i}")))));

        var state = CurationLog.Load(dir);
        Assert.Equal(40, state.Decisions);
        Assert.Equal(5, state.Latest.Count);
        Assert.All(state.Latest.Values, e => Assert.Equal(8, e.Revision));
    }

    [Fact]
    public async Task Invalid_decisions_and_folders_without_a_manifest_are_refused_before_writing()
    {
        using var tmp = new TempDir();
        var dir = await DatasetAsync(tmp);

        await Assert.ThrowsAsync<DistillException>(() => CurationLog.AppendAsync(dir, CurationDecision.Reject("a", "")));
        await Assert.ThrowsAsync<DistillException>(() => CurationLog.AppendAsync(tmp.Combine("nowhere"), CurationDecision.Accept("a")));
        Assert.False(File.Exists(CurationLog.PathFor(dir)));
    }
}
