using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Distill.Core.Samples;
using Distill.Data;
using Distill.Data.Synthetic;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Distill.Studio.Tests;

/// <summary>A dataset folder under a temp root, and a real studio (Kestrel on a free loopback port) over it.</summary>
public sealed class StudioFixture : IAsyncLifetime
{
    public const string Dataset = "store";
    /// <summary>Markup a teacher could write; if a page ever ran it, <c>window.__pwned</c> would be set (the browser tests look).</summary>
    public const string ScriptText = "<script>window.__pwned=1;alert('xss')</script>\"><img src=x onerror=window.__pwned=2;alert(1)>";

    public string Root { get; } = Directory.CreateTempSubdirectory("distill-studio-").FullName;
    public string DatasetDir => Path.Combine(Root, Dataset);
    public IReadOnlyList<Sample> Accepted { get; private set; } = [];
    public IReadOnlyList<RejectedSample> Rejected { get; private set; } = [];
    public WebApplication App { get; private set; } = null!;
    public HttpClient Client { get; private set; } = null!;

    /// <summary>
    /// Ten accepted samples: a0..a9 from two template versions (v1 for even, v2 for odd), a3 holding markup and script in its user
    /// turn and answer; three rejects r0..r2 with reasons.
    /// </summary>
    public async Task InitializeAsync()
    {
        var all = SyntheticSamples.ToolTraces(13, seed: 3, logprobsTopK: 2).ToList();
        Accepted = all.Take(10).Select((s, i) => s with
        {
            Id = $"a{i}",
            TemplateId = "support",
            TemplateVersion = i % 2 == 0 ? "v1" : "v2",
            Teacher = new TeacherInfo("local", i < 5 ? "teacher-a" : "teacher-b", null),
            Verified = i < 7,
            Messages = i == 3 ? [.. s.Messages.Take(1), ChatMessage.User(ScriptText), .. s.Messages.Skip(2)] : s.Messages,
            Answer = i == 3 ? ScriptText : s.Answer,
        }).ToList();
        Rejected = all.Skip(10).Select((s, i) => new RejectedSample(s with { Id = $"r{i}", TemplateId = "support", TemplateVersion = "v1", Verified = null },
            i == 0 ? "wrong_tool" : "verifier_failed")).ToList();
        await using (var writer = await DatasetWriter.OpenAsync(DatasetDir))
        {
            foreach (var s in Accepted) await writer.AppendAsync(s);
            foreach (var r in Rejected) await writer.RejectAsync(r);
        }
        (App, Client) = await StartAsync(new StudioOptions { DataRoots = [Root], Port = 0 });
    }

    /// <summary>
    /// A studio on a free port. Its list requests wait for the whole list (the tests' datasets are small, but a loaded machine
    /// can take longer than the default half second to read one, and these tests check whole lists; partial lists have their
    /// own tests in DatasetCatalogTests).
    /// </summary>
    public static async Task<(WebApplication App, HttpClient Client)> StartAsync(StudioOptions options)
    {
        var app = StudioServer.Build(options with { PartialAfter = TimeSpan.FromMinutes(5) });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var port = new Uri(address).Port;
        return (app, new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") });
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await App.DisposeAsync();
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { }
    }

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await Client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement;
    }

    /// <summary>A decision POST as the page sends it (the studio header and a JSON body), unless told otherwise.</summary>
    public static HttpRequestMessage Decision(object body, bool csrfHeader = true, string? origin = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/decision")
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
        };
        if (csrfHeader) request.Headers.Add("X-Distill-Studio", "1");
        if (origin is not null) request.Headers.Add("Origin", origin);
        return request;
    }
}

[CollectionDefinition(Name)]
public sealed class StudioCollection : ICollectionFixture<StudioFixture>
{
    public const string Name = "studio";
}
