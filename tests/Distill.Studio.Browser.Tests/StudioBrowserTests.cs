using System.Text.Json;
using Distill.Data;
using Distill.Data.Curation;
using Distill.Studio.Tests;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Distill.Studio.Browser.Tests;

/// <summary>
/// The studio's page in a real browser: headless Chromium (Debian's package, by path) against the studio on a free loopback
/// port over <see cref="StudioFixture"/>'s dataset. Skipped where Chromium is not installed (see <see cref="ChromiumFactAttribute"/>).
/// </summary>
public sealed class StudioBrowserTests(StudioFixture fx) : IClassFixture<StudioFixture>
{
    private const string EditedAnswer = "A curator's better answer: the parcel is in transit and arrives in two days.";
    private const string RejectReason = "hallucinated tracking id";

    private string BaseUrl => fx.Client.BaseAddress!.ToString();

    [ChromiumFact]
    public async Task Browse_filter_view_accept_reject_and_edit_in_chromium_and_the_curated_export_holds_exactly_the_kept_samples()
    {
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);
        await page.GotoAsync(BaseUrl);

        // Browse: ten accepted samples and three rejects in one list.
        await Expect(page.Locator("#page-info")).ToHaveTextAsync("1-13 of 13");

        // Filter by template, version and verification: v2 is the odd samples, verified are a0..a6.
        await page.Locator("#f-template").SelectOptionAsync("support");
        await page.Locator("#f-version").SelectOptionAsync("v2");
        await Expect(page.Locator("#page-info")).ToHaveTextAsync("1-5 of 5");
        await page.Locator("#f-verified").SelectOptionAsync("true");
        await Expect(page.Locator("#page-info")).ToHaveTextAsync("1-3 of 3");
        Assert.Equal(new[] { "a1", "a3", "a5" }, await RowIdsAsync(page));

        // Rejects by the pipeline's reason.
        await page.Locator("#f-clear").ClickAsync();
        await page.Locator("#f-source").SelectOptionAsync("rejected");
        await page.Locator("#f-reason").SelectOptionAsync("wrong_tool");
        await Expect(page.Locator("#page-info")).ToHaveTextAsync("1-1 of 1");
        Assert.Equal(new[] { "r0" }, await RowIdsAsync(page));

        // Full-text search for one order number: the samples that mention it, whatever the turn.
        await page.Locator("#f-clear").ClickAsync();
        var order = fx.Accepted[6].SeedInput!.Split(':')[1];
        var mentioning = fx.Accepted.Concat(fx.Rejected.Select(r => r.Sample))
            .Where(s => s.SeedInput!.Contains(order, StringComparison.Ordinal)).Select(s => s.Id).ToArray();
        await page.Locator("#f-q").FillAsync(order.ToLowerInvariant());
        await Expect(page.Locator("#page-info")).ToHaveTextAsync($"1-{mentioning.Length} of {mentioning.Length}");
        Assert.Equal(mentioning, await RowIdsAsync(page));

        // A sample as a conversation: every role, tool calls with arguments, the heat strip, the final answer.
        await OpenAsync(page, "a6");
        var detail = page.Locator("#detail");
        foreach (var role in new[] { "system", "user", "assistant", "tool" })
            Assert.True(await detail.Locator($".turn.{role}").CountAsync() > 0, $"no {role} turn shown");
        await Expect(detail.Locator(".call .name").First).ToHaveTextAsync("→ lookup_order");
        await Expect(detail.Locator(".call pre.json").First).ToContainTextAsync($"\"order_id\": \"{order}\"");
        Assert.True(await detail.Locator(".heat span").CountAsync() > 100, "the heat strip has a span per answer token");
        await Expect(detail.Locator(".answer .text")).ToHaveTextAsync(fx.Accepted[6].Answer!);

        // Accept one (the README's screenshot: a decided sample with tool calls and its heat strip).
        await page.Locator("#f-clear").ClickAsync();
        await OpenAsync(page, "a1");
        await detail.GetByRole(AriaRole.Button, new() { Name = "Accept", Exact = true }).ClickAsync();
        await Expect(page.Locator("#rows tr[title='a1'] .badge.accept")).ToBeVisibleAsync();
        await Expect(detail.Locator(".meta .badge.accept")).ToBeVisibleAsync();
        var png = await page.ScreenshotAsync();
        Screenshots.Save("studio-conversation.png", png);
        Assert.True(Screenshots.DominantColourShare(png) < 0.9, "the screenshot is (nearly) one colour: blank");
        Assert.True(Screenshots.DistinctColours(png) > 100, "the screenshot has too few colours to be the rendered page");

        // Reject one with a reason.
        await OpenAsync(page, "a5");
        await detail.GetByLabel("reject reason").FillAsync(RejectReason);
        await detail.GetByRole(AriaRole.Button, new() { Name = "Reject", Exact = true }).ClickAsync();
        await Expect(page.Locator("#rows tr[title='a5'] .badge.reject")).ToBeVisibleAsync();
        await Expect(detail.Locator(".meta").Nth(1)).ToContainTextAsync(RejectReason);

        // Edit one: the last assistant turn and the final answer.
        await OpenAsync(page, "a7");
        await detail.GetByRole(AriaRole.Button, new() { Name = "Edit", Exact = true }).ClickAsync();
        var lastTurn = fx.Accepted[7].Messages.Count - 1;
        await detail.Locator($"textarea[data-edit='{lastTurn}.content']").FillAsync(EditedAnswer);
        await detail.Locator("textarea[data-edit='answer']").FillAsync(EditedAnswer);
        await detail.GetByRole(AriaRole.Button, new() { Name = "Save edit" }).ClickAsync();
        await Expect(page.Locator("#rows tr[title='a7'] .badge.edit")).ToBeVisibleAsync();
        await Expect(detail.Locator(".answer .text")).ToHaveTextAsync(EditedAnswer);

        // Bring back one of the pipeline's rejects.
        await page.Locator("#f-source").SelectOptionAsync("rejected");
        await OpenAsync(page, "r1");
        await detail.GetByRole(AriaRole.Button, new() { Name = "Accept", Exact = true }).ClickAsync();
        await Expect(page.Locator("#rows tr[title='r1'] .badge.accept")).ToBeVisibleAsync();

        // The decision filter sees them.
        await page.Locator("#f-clear").ClickAsync();
        await page.Locator("#f-decision").SelectOptionAsync("reject");
        await Expect(page.Locator("#page-info")).ToHaveTextAsync("1-1 of 1");
        Assert.Equal(new[] { "a5" }, await RowIdsAsync(page));
        Assert.Empty(errors);

        // The curation file holds the four decisions, and the curated export (`dataset export --curated`'s code) exactly the
        // samples kept: the pipeline's accepted ones but the rejected a5, with a7 as edited, and the accepted reject r1.
        var curation = CurationLog.Load(fx.DatasetDir);
        Assert.Equal(4, curation.Decisions);
        Assert.Equal(CurationAction.Accept, curation.Find("a1")!.Decision.Action);
        Assert.Equal((CurationAction.Reject, RejectReason), (curation.Find("a5")!.Decision.Action, curation.Find("a5")!.Decision.Reason));
        Assert.Equal((CurationAction.Edit, EditedAnswer), (curation.Find("a7")!.Decision.Action, curation.Find("a7")!.Decision.Answer));
        Assert.Equal(EditedAnswer, curation.Find("a7")!.Decision.Messages![lastTurn].Content);
        Assert.Equal(CurationAction.Accept, curation.Find("r1")!.Decision.Action);

        var output = Path.Combine(fx.Root, "curated.jsonl");
        await DatasetExporter.ExportAsync(fx.DatasetDir, output, ExportFormat.Jsonl, new ExportOptions { Curated = true });
        var rows = File.ReadAllLines(output).Select(l => JsonDocument.Parse(l).RootElement).ToDictionary(r => r.GetProperty("id").GetString()!);
        string[] kept = ["a0", "a1", "a2", "a3", "a4", "a6", "a7", "a8", "a9", "r1"];
        Assert.Equal(kept, rows.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(EditedAnswer, rows["a7"].GetProperty("answer").GetString());
        Assert.Equal(fx.Accepted[1].Answer, rows["a1"].GetProperty("answer").GetString());
    }

    [ChromiumFact]
    public async Task Teacher_text_holding_script_and_onerror_markup_is_shown_as_text_and_nothing_runs_even_without_the_csp()
    {
        await using var chromium = await Chromium.LaunchAsync();
        // The Content-Security-Policy would stop inline script by itself (the API tests check the header); with it bypassed, only
        // the page's text-only rendering stands between the payload and the browser, and that is what this proves.
        var page = await chromium.NewPageAsync(bypassContentSecurityPolicy: true);
        var dialogs = new List<string>();
        page.Dialog += (_, dialog) =>
        {
            dialogs.Add(dialog.Message);
            _ = dialog.DismissAsync();
        };
        await page.GotoAsync(BaseUrl);
        await Expect(page.Locator("#page-info")).ToHaveTextAsync("1-13 of 13");

        // In the list (the first user turn), in the conversation, in the answer and in the edit box: the payload as written.
        await Expect(page.Locator("#rows tr[title='a3'] td").Last).ToHaveTextAsync(StudioFixture.ScriptText);
        await OpenAsync(page, "a3");
        var detail = page.Locator("#detail");
        await Expect(detail.Locator(".turn.user .text")).ToHaveTextAsync(StudioFixture.ScriptText);
        await Expect(detail.Locator(".answer .text")).ToHaveTextAsync(StudioFixture.ScriptText);
        await detail.GetByRole(AriaRole.Button, new() { Name = "Edit", Exact = true }).ClickAsync();
        await Expect(detail.Locator("textarea[data-edit='answer']")).ToHaveValueAsync(StudioFixture.ScriptText);
        await detail.GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();

        // Searching for the markup finds it as text.
        await page.Locator("#f-q").FillAsync("<script>");
        await Expect(page.Locator("#page-info")).ToHaveTextAsync("1-1 of 1");
        Assert.Equal(new[] { "a3" }, await RowIdsAsync(page));

        Assert.Equal(0, await page.Locator("#rows img, #rows script, #detail img, #detail script").CountAsync());
        // An <img src=x> would have failed to load by now and run its onerror; the payload sets window.__pwned first thing.
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
        Assert.True(await page.EvaluateAsync<bool>("() => window.__pwned === undefined"), "the payload's script ran");
        Assert.Empty(dialogs);
    }

    [ChromiumFact]
    public async Task The_template_page_shows_each_versions_numbers_and_the_templates_compare_chart()
    {
        var runs = Path.Combine(fx.Root, "runs");
        var comparison = await ComparisonFolder.WriteAsync(fx.DatasetDir, runs);
        var (app, client) = await StudioFixture.StartAsync(new StudioOptions { DataRoots = [fx.Root], RunRoots = [runs], Port = 0 });
        await using var server = app;
        using var http = client;
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.NewPageAsync();
        await page.GotoAsync(http.BaseAddress!.ToString());

        await page.Locator("#nav-templates").ClickAsync();

        await Expect(page.Locator("#samples-view")).ToBeHiddenAsync();
        await Expect(page.Locator("#templates thead th")).ToHaveTextAsync(["metric", "support@v1", "support@v2"]);
        await Expect(page.Locator(".comparison figcaption")).ToHaveTextAsync($"support@v1 vs support@v2 ({ComparisonFolder.Key}): {comparison.Verdict}");
        await page.WaitForFunctionAsync("() => { const i = document.querySelector('.comparison img'); return i && i.complete && i.naturalWidth > 0; }");
        var png = await page.ScreenshotAsync(new() { FullPage = true });
        Screenshots.Save("studio-templates.png", png);
        Assert.True(Screenshots.DistinctColours(png) > 100, "the template page's screenshot has too few colours to be rendered");
    }

    [ChromiumFact]
    public async Task A_dataset_still_being_read_is_listed_at_once_and_the_page_fills_in_until_it_is_whole()
    {
        // No wait for the whole list (the fixture's studios wait): the page gets the rows read so far, says so, and asks again.
        var root = Directory.CreateTempSubdirectory("distill-studio-partial-").FullName;
        try
        {
            // 100 shards: the first answer comes once a page (50 rows) is read, with most of the dataset still to read.
            await using (var writer = await DatasetWriter.OpenAsync(Path.Combine(root, "big"), new DatasetWriterOptions { ShardRows = 20 }))
                foreach (var sample in Distill.Data.Synthetic.SyntheticSamples.ToolTraces(2000, seed: 5))
                    await writer.AppendAsync(sample);
            await using var app = Distill.Studio.StudioServer.Build(new StudioOptions { DataRoots = [root], Port = 0, PartialAfter = TimeSpan.Zero });
            await app.StartAsync();
            var address = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features
                .Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First().Replace("localhost", "127.0.0.1");
            await using var chromium = await Chromium.LaunchAsync();
            var page = await chromium.NewPageAsync();
            var statuses = new List<string>();
            await page.ExposeFunctionAsync("reportStatus", (string text) => { lock (statuses) statuses.Add(text); });
            await page.AddInitScriptAsync("""
                new MutationObserver(() => { const s = document.getElementById('status'); if (s) window.reportStatus(s.textContent); })
                  .observe(document, { subtree: true, childList: true, characterData: true });
                """);

            await page.GotoAsync(address);

            await Expect(page.Locator("#page-info")).ToHaveTextAsync("1-50 of 2000", new() { Timeout = 60_000 });
            await Expect(page.Locator("#status")).ToHaveTextAsync("");
            lock (statuses)
                Assert.Contains(statuses, t => t.StartsWith("Reading the dataset: ", StringComparison.Ordinal) && t.EndsWith("of 2,000 samples so far; counts and filters cover those.", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>Clicks the sample's row and waits until the page shows it.</summary>
    private static async Task OpenAsync(IPage page, string id)
    {
        await page.Locator($"#rows tr[title='{id}']").ClickAsync();
        await Expect(page.Locator("#detail h2")).ToHaveTextAsync(id);
    }

    private static async Task<string[]> RowIdsAsync(IPage page) =>
        (await page.Locator("#rows tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.title)"));
}
