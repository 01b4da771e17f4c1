using System.Net;
using System.Text.Json;
using Distill.Data;
using Distill.Data.Curation;

namespace Distill.Studio.Tests;

[Collection(StudioCollection.Name)]
public class StudioDecisionTests(StudioFixture fx)
{
    private async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(object decision)
    {
        using var response = await fx.Client.SendAsync(StudioFixture.Decision(decision));
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement);
    }

    [Fact]
    public async Task Accept_reject_and_edit_from_the_page_go_to_the_curation_file_and_the_curated_export_follows_them()
    {
        var a7 = await fx.GetJsonAsync("/api/sample?dataset=store&id=a7");
        var edited = a7.GetProperty("messages").EnumerateArray().Select((m, i) => new
        {
            role = m.GetProperty("role").GetString(),
            content = i == a7.GetProperty("messages").GetArrayLength() - 1 ? "A curator's better answer." : m.TryGetProperty("content", out var c) ? c.GetString() : null,
            reasoning = m.TryGetProperty("reasoning", out var r) ? r.GetString() : null,
            tool_calls = m.GetProperty("tool_calls"),
            tool_call_id = m.TryGetProperty("tool_call_id", out var id) ? id.GetString() : null,
            name = m.TryGetProperty("name", out var n) ? n.GetString() : null,
        }).ToArray();

        Assert.Equal(HttpStatusCode.OK, (await PostAsync(new { dataset = "store", id = "a5", action = "reject", reason = "hallucinated tracking id", base_revision = 0 })).Status);
        var edit = await PostAsync(new { dataset = "store", id = "a7", action = "edit", messages = edited, answer = "A curator's better answer.", base_revision = 0 });
        Assert.Equal(HttpStatusCode.OK, edit.Status);
        Assert.Equal(1, edit.Body.GetProperty("revision").GetInt32());
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(new { dataset = "store", id = "r2", action = "accept" })).Status);

        var state = CurationLog.Load(fx.DatasetDir);
        Assert.Equal(CurationAction.Reject, state.Find("a5")!.Decision.Action);
        Assert.Equal("hallucinated tracking id", state.Find("a5")!.Decision.Reason);
        Assert.Equal(CurationAction.Edit, state.Find("a7")!.Decision.Action);
        Assert.Equal(CurationAction.Accept, state.Find("r2")!.Decision.Action);

        var view = await fx.GetJsonAsync("/api/sample?dataset=store&id=a7");
        Assert.Equal("edit", view.GetProperty("curation").GetProperty("decision").GetString());
        Assert.Equal("A curator's better answer.", view.GetProperty("curated").GetProperty("answer").GetString());
        // The teacher's tool-call turn is unchanged, so its logprobs stay; the rewritten answer has none.
        Assert.True(view.GetProperty("curated").GetProperty("messages")[2].GetProperty("logprobs").GetArrayLength() > 0);
        var curatedMessages = view.GetProperty("curated").GetProperty("messages");
        Assert.Equal(0, curatedMessages[curatedMessages.GetArrayLength() - 1].GetProperty("logprobs").GetArrayLength());

        var listed = await fx.GetJsonAsync("/api/samples?dataset=store&decision=reject");
        Assert.Contains(listed.GetProperty("items").EnumerateArray(), i => i.GetProperty("sample").GetProperty("id").GetString() == "a5");

        var output = Path.Combine(fx.Root, "curated.jsonl");
        await DatasetExporter.ExportAsync(fx.DatasetDir, output, ExportFormat.Jsonl, new ExportOptions { Curated = true });
        var rows = File.ReadAllLines(output).Select(l => JsonDocument.Parse(l).RootElement).ToDictionary(r => r.GetProperty("id").GetString()!);
        Assert.DoesNotContain("a5", rows.Keys);
        Assert.Contains("r2", rows.Keys);
        Assert.Equal("A curator's better answer.", rows["a7"].GetProperty("answer").GetString());
    }

    [Fact]
    public async Task Two_tabs_deciding_on_the_same_sample_the_later_one_is_told_and_nothing_is_overwritten()
    {
        var first = await PostAsync(new { dataset = "store", id = "a8", action = "accept", base_revision = 0 });
        var second = await PostAsync(new { dataset = "store", id = "a8", action = "reject", reason = "seen in another tab", base_revision = 0 });

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(HttpStatusCode.Conflict, second.Status);
        Assert.Equal(1, second.Body.GetProperty("current_revision").GetInt32());
        Assert.Equal(CurationAction.Accept, CurationLog.Load(fx.DatasetDir).Find("a8")!.Decision.Action);
    }

    [Theory]
    [InlineData("""{"dataset":"store","id":"a9","action":"reject"}""", HttpStatusCode.BadRequest)]
    [InlineData("""{"dataset":"store","id":"a9","action":"edit"}""", HttpStatusCode.BadRequest)]
    [InlineData("""{"dataset":"store","id":"a9","action":"maybe"}""", HttpStatusCode.BadRequest)]
    [InlineData("""{"dataset":"store","id":"a9"}""", HttpStatusCode.BadRequest)]
    [InlineData("""{"dataset":"store","id":"no-such-sample","action":"accept"}""", HttpStatusCode.NotFound)]
    [InlineData("""not json""", HttpStatusCode.BadRequest)]
    public async Task A_decision_that_cannot_be_kept_is_refused_with_a_reason_and_writes_nothing(string body, HttpStatusCode expected)
    {
        using var request = StudioFixture.Decision(new { });
        request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        using var response = await fx.Client.SendAsync(request);

        Assert.Equal(expected, response.StatusCode);
        Assert.False(string.IsNullOrEmpty(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString()));
        Assert.Null(CurationLog.Load(fx.DatasetDir).Find("a9"));
    }
}
