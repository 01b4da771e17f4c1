using Distill.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Distill.Server.Tests;

/// <summary>A real Kestrel server on a free loopback port, with the scripted engine and an API key.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public const string ApiKey = "sk-test-SECRET-123";
    public ScriptedEngine Engine { get; } = new();
    public WebApplication App { get; private set; } = null!;
    public Uri BaseAddress { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        App = ChatServer.Build(Engine, new ServeOptions { Port = 0, MaxQueuedRequests = 64 }, ApiKey);
        await App.StartAsync();
        var address = App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address);
    }

    public async Task DisposeAsync() => await App.DisposeAsync();
}
