using System.Net.Http.Headers;
using Distill.Teachers;
using static Distill.Cli.Commands.DoctorCommand;

namespace Distill.Cli.Commands;

/// <summary>
/// Doctor checks for each configured teacher: is its key set, is the endpoint reachable, does it accept the key.
/// It lists models (free) rather than sending a completion (paid). The key is sent, never shown.
/// </summary>
public static class TeacherChecks
{
    public static async Task<IReadOnlyList<Check>> RunAsync(IReadOnlyList<TeacherOptions> teachers, CancellationToken cancellationToken,
        HttpMessageHandler? handler = null)
    {
        using var http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        http.Timeout = TimeSpan.FromSeconds(5);
        var checks = new List<Check>();
        foreach (var teacher in teachers)
        {
            checks.Add(await CheckAsync(http, teacher, cancellationToken));
        }
        return checks;
    }

    private static async Task<Check> CheckAsync(HttpClient http, TeacherOptions teacher, CancellationToken cancellationToken)
    {
        var name = $"teacher '{teacher.Name}'";
        string? key = null;
        if (teacher.ApiKeyEnv is { } variable)
        {
            key = Environment.GetEnvironmentVariable(variable);
            if (string.IsNullOrEmpty(key))
            {
                return new(name, Status.Failed, $"environment variable {variable} is not set (it must hold the API key for {teacher.Endpoint})");
            }
        }
        var azure = teacher.Provider == TeacherProviders.AzureOpenAI;
        var url = azure
            ? $"{teacher.Endpoint.TrimEnd('/')}/openai/models?api-version={teacher.ApiVersion}"
            : $"{teacher.Endpoint.TrimEnd('/')}/models";
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (key is not null)
        {
            if (azure)
            {
                request.Headers.Add("api-key", key);
            }
            else
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            }
        }
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            var code = (int)response.StatusCode;
            return code switch
            {
                < 300 => new(name, Status.Ok, $"{teacher.Provider} {teacher.Endpoint} ({teacher.Model}) reachable"),
                401 or 403 => new(name, Status.Failed, $"{teacher.Endpoint} rejected the key (HTTP {code}); check {teacher.ApiKeyEnv ?? "the API key"}"),
                _ => new(name, Status.Warning, $"{teacher.Endpoint} answered HTTP {code} to a model listing"),
            };
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            var hint = teacher.Endpoint.Contains("127.0.0.1") || teacher.Endpoint.Contains("localhost")
                ? " (start it with `distill serve`, or ignore this until you generate)"
                : "";
            return new(name, Status.Warning, $"{teacher.Endpoint} is not reachable: {e.GetType().Name}{hint}");
        }
    }
}
