using System.Net;
using System.Text.Json;

namespace Distill.Studio.Tests;

/// <summary>The template page's <c>templates compare</c> charts, over a studio whose run folder holds one comparison.</summary>
public sealed class TemplateComparisonApiTests(StudioFixture fx) : IClassFixture<StudioFixture>
{
    [Fact]
    public async Task A_comparison_under_the_run_folders_is_listed_with_its_verdict_and_its_chart_is_served_by_key_only()
    {
        var runs = Path.Combine(fx.Root, "runs");
        var comparison = await ComparisonFolder.WriteAsync(fx.DatasetDir, runs);
        // A compare.json that is not one (a hand edit gone wrong) is left out, not an error for the page.
        Directory.CreateDirectory(Path.Combine(runs, "broken", "charts"));
        await File.WriteAllTextAsync(Path.Combine(runs, "broken", "compare.json"), "{ not json");
        await File.WriteAllBytesAsync(Path.Combine(runs, "broken", "charts", "compare.png"), [1, 2, 3]);
        var (app, client) = await StudioFixture.StartAsync(new StudioOptions { DataRoots = [fx.Root], RunRoots = [runs], Port = 0 });
        await using var server = app;
        using var http = client;

        var listed = JsonDocument.Parse(await http.GetStringAsync("/api/comparisons")).RootElement;
        using var chart = await http.GetAsync("/api/comparison-chart?key=" + Uri.EscapeDataString(ComparisonFolder.Key));
        using var outside = await http.GetAsync("/api/comparison-chart?key=" + Uri.EscapeDataString("../runs/" + ComparisonFolder.Key));

        var entry = Assert.Single(listed.EnumerateArray());
        Assert.Equal(ComparisonFolder.Key, entry.GetProperty("key").GetString());
        Assert.Equal(("support@v1", "support@v2"), (entry.GetProperty("a").GetString(), entry.GetProperty("b").GetString()));
        Assert.Equal(comparison.Verdict, entry.GetProperty("verdict").GetString());
        Assert.False(entry.TryGetProperty("chart", out var _), "the chart's path on disk is not the client's business");
        Assert.Equal(HttpStatusCode.OK, chart.StatusCode);
        Assert.Equal("image/png", chart.Content.Headers.ContentType?.MediaType);
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(runs, ComparisonFolder.Key, "charts", "compare.png")), await chart.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.NotFound, outside.StatusCode);
    }

    [Fact]
    public async Task Without_comparisons_the_list_is_empty()
    {
        var listed = await fx.GetJsonAsync("/api/comparisons");

        Assert.Empty(listed.EnumerateArray());
    }
}
