using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Distill.Core.Errors;
using Distill.Data.Curation;

namespace Distill.Studio.Tests;

[Collection(StudioCollection.Name)]
public class StudioSecurityTests(StudioFixture fx)
{
    private const string Token = "test-token-0123456789abcdef";

    [Fact]
    public async Task Script_in_a_sample_comes_back_as_json_text_under_a_policy_that_forbids_inline_script()
    {
        using var response = await fx.Client.GetAsync("/api/sample?dataset=store&id=a3");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("<script>", body, StringComparison.Ordinal);
        var sample = JsonDocument.Parse(body).RootElement;
        Assert.Equal(StudioFixture.ScriptText, sample.GetProperty("messages")[1].GetProperty("content").GetString());
        Assert.Equal(StudioFixture.ScriptText, sample.GetProperty("answer").GetString());
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        var csp = Assert.Single(response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-eval", csp, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_shipped_page_never_turns_data_into_markup_or_code()
    {
        var js = await fx.Client.GetStringAsync("/app.js");
        var html = await fx.Client.GetStringAsync("/");

        Assert.Contains("textContent", js, StringComparison.Ordinal);
        foreach (var sink in new[] { "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "DOMParser", "createContextualFragment", "setTimeout('", "setTimeout(\"" })
            Assert.DoesNotContain(sink, js, StringComparison.Ordinal);
        // CSP allows script only from the studio's own files: the page has no inline script or style the policy would block.
        Assert.All(Regex.Matches(html, "<script[^>]*>").Select(m => m.Value), tag => Assert.Contains("src=\"/app.js\"", tag, StringComparison.Ordinal));
        Assert.DoesNotContain(" style=", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<style", html, StringComparison.Ordinal);
        Assert.DoesNotMatch(" on[a-z]+=", html);
    }

    [Theory]
    [InlineData(false, null, "application/json")]
    [InlineData(true, "http://evil.example", "application/json")]
    [InlineData(true, null, "text/plain")]
    [InlineData(true, null, "application/x-www-form-urlencoded")]
    public async Task A_state_changing_request_that_could_come_from_another_site_is_refused_and_writes_nothing(bool header, string? origin, string contentType)
    {
        using var request = StudioFixture.Decision(new { dataset = "store", id = "a1", action = "reject", reason = "csrf" }, header, origin);
        request.Content = new StringContent("""{"dataset":"store","id":"a1","action":"reject","reason":"csrf"}""", Encoding.UTF8, contentType);
        using var response = await fx.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Null(CurationLog.Load(fx.DatasetDir).Find("a1"));
    }

    [Fact]
    public async Task A_request_naming_a_host_other_than_loopback_is_refused_on_loopback()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/datasets");
        request.Headers.Host = "rebound.example";
        using var response = await fx.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [InlineData("0.0.0.0", null)]
    [InlineData("192.168.1.20", "")]
    [InlineData("0.0.0.0", "short")]
    [InlineData("studio.example", Token)]
    public void Serving_off_loopback_without_a_good_token_or_on_a_name_is_refused_before_start(string host, string? token)
    {
        var error = Assert.Throws<DistillException>(() => StudioServer.Build(new StudioOptions { DataRoots = [fx.Root], Host = host, Port = 0, Token = token }));
        Assert.DoesNotContain(Token, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_a_token_every_request_needs_it_by_header_or_by_the_cookie_the_page_gets_once()
    {
        var (app, _) = await StudioFixture.StartAsync(new StudioOptions { DataRoots = [fx.Root], Host = "0.0.0.0", Port = 0, Token = Token });
        await using var _app = app;
        var port = new Uri(app.Urls.First()).Port;
        using var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false };
        using var client = new HttpClient(handler) { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        using (var none = await client.GetAsync("/api/datasets")) Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        using (var page = await client.GetAsync("/")) Assert.Equal(HttpStatusCode.Unauthorized, page.StatusCode);
        using (var wrong = await client.GetAsync("/?token=not-the-token-at-all")) Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);

        using (var bearer = new HttpRequestMessage(HttpMethod.Get, "/api/datasets"))
        {
            bearer.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Token);
            using var ok = await client.SendAsync(bearer);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using var login = await client.GetAsync($"/?token={Token}");
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        Assert.Equal("/", login.Headers.Location?.OriginalString);
        var cookie = Assert.Single(login.Headers.GetValues("Set-Cookie"));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        using var withCookie = new HttpRequestMessage(HttpMethod.Get, "/api/datasets");
        withCookie.Headers.Add("Cookie", cookie.Split(';')[0]);
        using var fromPage = await client.SendAsync(withCookie);
        Assert.Equal(HttpStatusCode.OK, fromPage.StatusCode);

        // Even with the token, a POST still needs the studio's header.
        using var post = StudioFixture.Decision(new { dataset = "store", id = "a1", action = "accept" }, csrfHeader: false);
        post.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Token);
        using var refused = await client.SendAsync(post);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }
}
