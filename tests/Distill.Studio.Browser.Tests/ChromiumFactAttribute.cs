namespace Distill.Studio.Browser.Tests;

/// <summary>
/// A test that drives a real Chromium. It runs where Debian's <c>chromium</c> package is installed (<c>apt-get install -y chromium</c>,
/// <c>/usr/bin/chromium</c>) or where <see cref="Chromium.ExecutableEnv"/> names another Chromium or Chrome; elsewhere it is skipped
/// with the reason, because CI has only the .NET SDK and Playwright's own browser download is not reachable from these machines.
/// </summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (!File.Exists(Chromium.ExecutablePath))
        {
            Skip = $"no Chromium at {Chromium.ExecutablePath}: install Debian's package (apt-get install -y chromium) " +
                $"or set {Chromium.ExecutableEnv} to a Chromium executable";
        }
    }
}
