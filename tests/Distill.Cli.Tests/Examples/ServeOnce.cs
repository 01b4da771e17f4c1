using System.Globalization;
using System.Net;
using System.Text;
using Spectre.Console;

namespace Distill.Cli.Tests.Examples;

/// <summary>What one request to a `distill serve` run got back, and what the command printed.</summary>
public sealed record ServedReply(HttpStatusCode Status, string Body, int ExitCode, string Output, string Error);

/// <summary>Runs `distill serve ... --port P` in-process, posts one request once it listens (as curl would), then stops it with Ctrl+C.</summary>
public static class ServeOnce
{
    public static async Task<ServedReply> PostAsync(string[] serveArgs, string path, string json)
    {
        var port = LoopbackPort.Free();
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var output = new StringWriter();
        var error = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Ansi = AnsiSupport.No, Out = new AnsiConsoleOutput(output), Interactive = InteractionSupport.No });
        var serve = Task.Run(() => DistillApp.RunAsync([.. serveArgs, "--port", port.ToString(CultureInfo.InvariantCulture)], console, error, stop.Token));

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        HttpResponseMessage? response = null;
        while (response is null && !serve.IsCompleted && !stop.IsCancellationRequested)
        {
            try
            {
                response = await http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
            }
            catch (HttpRequestException)
            {
                await Task.Delay(200);
            }
        }
        var body = response is null ? "" : await response.Content.ReadAsStringAsync();
        await stop.CancelAsync();
        var exitCode = await serve;
        return new ServedReply(response?.StatusCode ?? 0, body, exitCode, output.ToString(), error.ToString());
    }
}
