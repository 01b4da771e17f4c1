using Microsoft.Playwright;

namespace Distill.Studio.Browser.Tests;

/// <summary>
/// Headless Chromium driven by Playwright through its executable path. Playwright's driver (its own Node.js, shipped in the
/// Microsoft.Playwright package and copied to the test output) is all it needs besides the browser itself.
/// </summary>
public sealed class Chromium : IAsyncDisposable
{
    /// <summary>Overrides <see cref="DefaultPath"/>.</summary>
    public const string ExecutableEnv = "DISTILL_CHROMIUM";

    public const string DefaultPath = "/usr/bin/chromium";

    /// <summary>Room for a loaded two-core machine: Playwright's 5 s default fails there while the page is fine.</summary>
    public const int TimeoutMs = 30_000;

    public static string ExecutablePath => Environment.GetEnvironmentVariable(ExecutableEnv) is { Length: > 0 } path ? path : DefaultPath;

    private readonly IPlaywright _playwright;

    public IBrowser Browser { get; }

    private Chromium(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        Browser = browser;
    }

    public static async Task<Chromium> LaunchAsync()
    {
        Assertions.SetDefaultExpectTimeout(TimeoutMs);
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = ExecutablePath,
                Headless = true,
                Timeout = TimeoutMs,
                // The machines have no outside network: without these Chromium keeps trying to reach Google's hosts.
                Args = ["--disable-gpu", "--disable-quic", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
            });
            return new Chromium(playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>A fresh page (own cookies and storage) of a fixed size, so screenshots are comparable run to run.</summary>
    public async Task<IPage> NewPageAsync(bool bypassContentSecurityPolicy = false)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 1500, Height = 950 },
            BypassCSP = bypassContentSecurityPolicy,
        });
        context.SetDefaultTimeout(TimeoutMs);
        return await context.NewPageAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
    }
}
