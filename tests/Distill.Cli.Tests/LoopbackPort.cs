using System.Net;
using System.Net.Sockets;

namespace Distill.Cli.Tests;

/// <summary>A loopback port nothing listens on right now, for a `distill serve --port` the test then talks to.</summary>
public static class LoopbackPort
{
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
