using System.Net;
using Distill.Core.Errors;
using Distill.Generation.Domains;

namespace Distill.Studio;

/// <summary>What <c>distill studio</c> serves and where.</summary>
public sealed record StudioOptions
{
    /// <summary>The environment variable that holds the access token.</summary>
    public const string TokenEnv = "DISTILL_STUDIO_TOKEN";

    /// <summary>Shortest token accepted: a guessable token on a network address is no protection.</summary>
    public const int MinTokenLength = 16;

    /// <summary>Dataset folders, or folders holding them.</summary>
    public required IReadOnlyList<string> DataRoots { get; init; }

    /// <summary>Folders searched for evaluations linked to template versions (the template page's student scores).</summary>
    public IReadOnlyList<string> RunRoots { get; init; } = [];

    /// <summary>
    /// The task domains (the world, plugins) whose task sources a dataset's manifest may name: loading them again gives rows their
    /// task's tier (<see cref="TaskTiers"/>). Task files need none.
    /// </summary>
    public IReadOnlyList<ITaskDomain> Domains { get; init; } = [];

    /// <summary>An IP address or <c>localhost</c>; anything but loopback needs <see cref="Token"/>.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>0 picks a free port.</summary>
    public int Port { get; init; } = 8790;

    /// <summary>
    /// How long a list request waits for a dataset's whole list before it is answered with the rows read so far (the page then
    /// says how far the read has come and asks again); a million rows take a minute or more to read.
    /// </summary>
    public TimeSpan PartialAfter { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Required on every request when set (<see cref="TokenEnv"/>); required to bind anything but loopback.</summary>
    public string? Token { get; init; }

    /// <summary>The address to bind, refusing what cannot be served safely.</summary>
    public IPAddress ResolveAddress()
    {
        var address = Host.Equals("localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback
            : IPAddress.TryParse(Host.Trim('[', ']'), out var parsed) ? parsed
            : throw new DistillException($"--host '{Host}' is not an IP address.", "Use 127.0.0.1 (the default), localhost, or an address of this machine such as 0.0.0.0.");
        if (Port is < 0 or > 65535)
            throw new DistillException($"--port {Port} is not a port.", "Use 1-65535, or 0 for a free one.");
        if (!IPAddress.IsLoopback(address))
        {
            if (string.IsNullOrEmpty(Token))
                throw new DistillException($"Refusing to serve the studio on {Host} without a token: anyone who reaches it could read and curate your data.",
                    $"Set the environment variable {TokenEnv} to a long random secret, or leave --host at 127.0.0.1.");
        }
        if (Token is { Length: > 0 and < MinTokenLength })
            throw new DistillException($"{TokenEnv} is shorter than {MinTokenLength} characters.", "Use a long random secret, e.g. `openssl rand -hex 24`.");
        return address;
    }

    /// <summary>Whether the studio listens on loopback only (then requests must name a loopback host: no DNS rebinding).</summary>
    public bool IsLoopback => IPAddress.IsLoopback(ResolveAddress());
}
