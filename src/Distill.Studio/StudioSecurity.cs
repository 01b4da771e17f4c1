using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Distill.Studio;

/// <summary>
/// Every request passes here first. Teacher output is untrusted text, and the studio writes files, so:
/// <list type="bullet">
/// <item>response headers forbid script from anywhere but the studio's own files, framing, and content sniffing;</item>
/// <item>on loopback, the Host header must name loopback, so a web page cannot reach the studio by DNS rebinding;</item>
/// <item>with a token (required off loopback), every request carries it: <c>Authorization: Bearer</c>, or the cookie set when the
/// page is opened once as <c>/?token=...</c>;</item>
/// <item>state-changing requests need the <see cref="CsrfHeader"/> header and a JSON body (a cross-site form or fetch cannot send
/// either without a CORS preflight, which the studio never grants), and an Origin, when sent, equal to the studio's own.</item>
/// </list>
/// </summary>
internal sealed class StudioSecurity(StudioOptions options)
{
    public const string CsrfHeader = "X-Distill-Studio";
    public const string TokenCookie = "distill_studio_token";

    /// <summary>
    /// Scripts, styles and fetches only from the studio itself, no inline script or style elements, no plugins, no framing, no form
    /// posts: even a teacher's text that reached the DOM as markup could not run.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly string[] LoopbackHosts = ["localhost", "127.0.0.1", "[::1]", "::1"];
    private readonly bool _loopback = options.IsLoopback;
    private readonly byte[]? _token = string.IsNullOrEmpty(options.Token) ? null : Encoding.UTF8.GetBytes(options.Token);

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var request = context.Request;
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers["Cross-Origin-Resource-Policy"] = "same-origin";
        headers.CacheControl = "no-store";

        if (_loopback && !LoopbackHosts.Contains(request.Host.Host, StringComparer.OrdinalIgnoreCase))
        {
            await StudioJson.ErrorAsync(context, StatusCodes.Status400BadRequest,
                $"This studio answers only to localhost, 127.0.0.1 or [::1], not '{request.Host.Host}'.");
            return;
        }
        if (_token is not null)
        {
            if (HttpMethods.IsGet(request.Method) && request.Query.TryGetValue("token", out var offered))
            {
                if (!Matches(offered.ToString()))
                {
                    await StudioJson.ErrorAsync(context, StatusCodes.Status401Unauthorized, "Wrong token.");
                    return;
                }
                // Keep the token out of the address bar, history and logs from here on.
                context.Response.Cookies.Append(TokenCookie, offered.ToString(), new CookieOptions
                {
                    HttpOnly = true,
                    SameSite = SameSiteMode.Strict,
                    Path = "/",
                    IsEssential = true,
                });
                // Always to the page itself: redirecting to the request path would let '//elsewhere' send the user off-site.
                context.Response.Redirect("/");
                return;
            }
            if (!Matches(BearerToken(request)) && !Matches(request.Cookies[TokenCookie]))
            {
                await StudioJson.ErrorAsync(context, StatusCodes.Status401Unauthorized,
                    $"This studio needs its token: open /?token=<{StudioOptions.TokenEnv}> once, or send 'Authorization: Bearer <token>'.");
                return;
            }
        }
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            if (CrossSiteProblem(request) is { } problem)
            {
                await StudioJson.ErrorAsync(context, StatusCodes.Status403Forbidden, problem);
                return;
            }
        }
        await next(context);
    }

    /// <summary>Why a state-changing request may come from another site, or null when it cannot.</summary>
    internal static string? CrossSiteProblem(HttpRequest request)
    {
        if (request.Headers[CsrfHeader] != "1")
            return $"State-changing requests need the header '{CsrfHeader}: 1'.";
        if (request.Headers.Origin is { Count: > 0 } origin && !string.Equals(origin.ToString(), $"{request.Scheme}://{request.Host}", StringComparison.OrdinalIgnoreCase))
            return $"Requests from origin '{origin}' are not allowed.";
        if (request.Headers["Sec-Fetch-Site"] is { Count: > 0 } site && site.ToString() is not ("same-origin" or "none"))
            return "Cross-site requests are not allowed.";
        if (request.ContentType is not { } type || !type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
            return "State-changing requests need a JSON body (Content-Type: application/json).";
        return null;
    }

    private static string? BearerToken(HttpRequest request) =>
        request.Headers.Authorization.ToString() is { } auth && auth.StartsWith("Bearer ", StringComparison.Ordinal) ? auth["Bearer ".Length..].Trim() : null;

    private bool Matches(string? offered) =>
        offered is not null && _token is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(offered), _token);
}
