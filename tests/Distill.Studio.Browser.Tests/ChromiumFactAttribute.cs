namespace Distill.Studio.Browser.Tests;

/// <summary>
/// A test that drives a real Chromium: Debian's <c>chromium</c> package (<c>/usr/bin/chromium</c>, installed by the set-up where
/// missing, <see cref="ChromiumInstall"/>) or the Chromium or Chrome that <see cref="Chromium.ExecutableEnv"/> names. Where neither
/// is there and the install cannot run, it is skipped with the reason.
/// </summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (ChromiumInstall.EnsureInstalled() is { } why)
        {
            Skip = $"no Chromium at {Chromium.ExecutablePath} ({why}): install Debian's package (apt-get install -y chromium) " +
                $"or set {Chromium.ExecutableEnv} to a Chromium executable";
        }
    }
}
