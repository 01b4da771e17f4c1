using Distill.Core.Samples;
using Distill.Data.Curation;

namespace Distill.Studio.Tests;

public sealed class SampleQueryTests : IDisposable
{
    private readonly SampleTexts _texts = SampleTexts.Create();
    private readonly FacetPool _facets = new();

    public void Dispose() => _texts.Dispose();

    private static Sample Sample(string id, string? recipe = "cot", string text = "", string system = "") => new()
    {
        Id = id,
        Kind = SampleKinds.ChainOfThought,
        Recipe = recipe,
        Messages = [ChatMessage.System(system), ChatMessage.User(text), ChatMessage.Assistant("ok")],
    };

    private SampleSummary Row(string id, string? reason = null, string? recipe = "cot", string text = "", string system = "")
    {
        var sample = Sample(id, recipe, text, system);
        return SampleSummary.From("d", "f.parquet", sample, reason, null, _texts.Add(sample, reason), _facets);
    }

    private DatasetSummaries List(params SampleSummary[] rows) => new(rows, _texts);

    [Fact]
    public void None_matches_samples_without_the_field_and_decisions_filter_by_the_latest_one()
    {
        var rows = List(Row("a"), Row("b", recipe: null), Row("c"));
        var curation = CurationState.FromDecisions([CurationDecision.Reject("a", "x"), CurationDecision.Accept("a"), CurationDecision.Reject("c", "y")]);

        Assert.Equal(["b"], SampleQuery.Run(rows, curation, new SampleFilter { Recipe = SampleFilter.None }).Items.Select(i => i.Sample.Id));
        Assert.Equal(["c"], SampleQuery.Run(rows, curation, new SampleFilter { Decision = "reject" }).Items.Select(i => i.Sample.Id));
        Assert.Equal(["b"], SampleQuery.Run(rows, curation, new SampleFilter { Decision = SampleFilter.None }).Items.Select(i => i.Sample.Id));
        var a = SampleQuery.Run(rows, curation, new SampleFilter { Decision = "accept" }).Items.Single();
        Assert.Equal(2, a.Revision);
    }

    [Fact]
    public void Page_size_and_page_are_clamped_to_what_exists()
    {
        var rows = List(Enumerable.Range(0, 7).Select(i => Row($"s{i}")).ToArray());

        var huge = SampleQuery.Run(rows, CurationState.Empty, new SampleFilter { PageSize = 100_000 });
        var negative = SampleQuery.Run(rows, CurationState.Empty, new SampleFilter { Page = -3, PageSize = 0 });
        var beyond = SampleQuery.Run(rows, CurationState.Empty, new SampleFilter { Page = int.MaxValue, PageSize = 3 });

        Assert.Equal(SampleFilter.MaxPageSize, huge.PageSize);
        Assert.Equal(7, huge.Items.Count);
        Assert.Equal((0, 1, "s0"), (negative.Page, negative.PageSize, negative.Items.Single().Sample.Id));
        Assert.Empty(beyond.Items);
        Assert.Equal(7, beyond.Total);
    }

    [Fact]
    public void The_second_page_holds_the_next_matches_with_their_previews_and_the_total_counts_all_of_them()
    {
        var rows = List(Enumerable.Range(0, 9).Select(i => Row($"s{i}", recipe: i % 3 == 0 ? "tool_trace" : "cot", text: $"question {i}")).ToArray());

        var second = SampleQuery.Run(rows, CurationState.Empty, new SampleFilter { Recipe = "cot", Page = 1, PageSize = 2 });

        Assert.Equal(6, second.Total);
        Assert.Equal([("s4", "question 4"), ("s5", "question 5")], second.Items.Select(i => (i.Sample.Id, i.Sample.Preview)));
        Assert.Equal(3, second.Facets["recipe"].Single(f => f.Value == "tool_trace").Count); // facets count every row, not the filtered ones
    }

    [Fact]
    public void The_preview_is_the_first_user_turn_cut_to_its_length()
    {
        var rows = List(Row("a", text: new string('x', 500)), Row("b", reason: "r"));

        var page = SampleQuery.Run(rows, CurationState.Empty, new SampleFilter());

        Assert.Equal(SampleTexts.PreviewLength + 1, page.Items[0].Sample.Preview.Length);
        Assert.Equal("rejected", page.Items[1].Sample.Source);
    }

    [Fact]
    public void Search_needs_every_term_in_the_text_not_the_system_prompt_and_ignores_case()
    {
        var rows = List(
            Row("a", text: "Where is order A12345?", system: "You are a helpful agent for refunds."),
            Row("b", text: "Refund for A12345 please"),
            Row("c", reason: "near_duplicate", text: "what about a99999"));

        string[] Ids(string text) => SampleQuery.Run(rows, CurationState.Empty, new SampleFilter { Text = text }).Items.Select(i => i.Sample.Id).ToArray();

        Assert.Equal(["a", "b"], Ids("a12345"));
        Assert.Equal(["b"], Ids("REFUND a12345"));   // "refund" is only in a's system prompt, which search leaves out
        Assert.Equal(["c"], Ids("near_duplicate"));  // the reject reason is searchable
        Assert.Empty(Ids("a12345 a99999"));
    }
}
