using Distill.Core.Samples;
using Distill.Data.Curation;

namespace Distill.Studio.Tests;

public class SampleQueryTests
{
    private static SampleSummary Row(string id, string? reason = null, string? recipe = "cot", string text = "") =>
        SampleSummary.From("d", "f.parquet", new Sample
        {
            Id = id,
            Kind = SampleKinds.ChainOfThought,
            Recipe = recipe,
            Messages = [ChatMessage.User(text), ChatMessage.Assistant("ok")],
        }, reason);

    [Fact]
    public void None_matches_samples_without_the_field_and_decisions_filter_by_the_latest_one()
    {
        var rows = new[] { Row("a"), Row("b", recipe: null), Row("c") };
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
        var rows = Enumerable.Range(0, 7).Select(i => Row($"s{i}")).ToArray();

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
    public void The_preview_is_the_first_user_turn_cut_to_its_length()
    {
        var row = Row("a", text: new string('x', 500));

        Assert.Equal(SampleSummary.PreviewLength + 1, row.Preview.Length);
        Assert.Equal("rejected", Row("b", reason: "r").Source);
    }
}
