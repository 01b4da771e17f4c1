using System.Diagnostics;

namespace Distill.Studio.Browser.Tests;

/// <summary>
/// The browser tests' set-up: where Debian's <c>chromium</c> package is missing and this process may install packages (root, with
/// <c>apt-get</c>), it installs it once per test run, so a machine that starts with only the .NET SDK (as CI's do) runs the browser
/// tests too (Playwright's own browser download is not reachable from these machines; Debian's package is). Set
/// <see cref="OptOutEnv"/> to skip the install; a failed install leaves the tests skipped with its reason.
/// </summary>
public static class ChromiumInstall
{
    public const string OptOutEnv = "DISTILL_NO_CHROMIUM_INSTALL";

    private static readonly Lazy<string?> Outcome = new(Install);

    /// <summary>Null when a Chromium is there (found or just installed); otherwise why not.</summary>
    public static string? EnsureInstalled() => File.Exists(Chromium.ExecutablePath) ? null : Outcome.Value;

    private static string? Install()
    {
        if (Environment.GetEnvironmentVariable(Chromium.ExecutableEnv) is { Length: > 0 })
            return $"{Chromium.ExecutableEnv} names {Chromium.ExecutablePath}, which does not exist";
        if (Environment.GetEnvironmentVariable(OptOutEnv) is { Length: > 0 }) return $"{OptOutEnv} is set";
        if (!OperatingSystem.IsLinux() || !File.Exists("/usr/bin/apt-get")) return "no apt-get here";
        if (Environment.UserName != "root") return "not root, so apt-get cannot install it";
        // A fresh machine may have no package lists yet: update them only when the install alone fails.
        // Short network timeouts: a machine that cannot reach Debian's mirrors should skip soon, not after apt's defaults.
        const string install = "-o Acquire::http::Timeout=30 -o Acquire::Retries=1 install -y --no-install-recommends chromium";
        var (ok, output) = AptGet(install);
        if (!ok)
        {
            AptGet("-o Acquire::http::Timeout=30 -o Acquire::Retries=1 update");
            (ok, output) = AptGet(install);
        }
        if (ok && File.Exists(Chromium.ExecutablePath)) return null;
        var last = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";
        return $"apt-get install chromium failed: {last}";
    }

    private static (bool Ok, string Output) AptGet(string arguments)
    {
        var start = new ProcessStartInfo("/usr/bin/apt-get", arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            process.Kill(entireProcessTree: true);
            return (false, "timed out after 10 minutes");
        }
        return (process.ExitCode == 0, stdout + stderr.Result);
    }
}
