using System.CommandLine;
using Distill.Cli.Composition;
using Distill.Server.Engine;
using Distill.Server.Hosting;
using Spectre.Console;

namespace Distill.Cli.Commands;

/// <summary>`distill serve --model dir [--adapter run]`: the model (with a LoRA adapter merged in) behind an OpenAI-compatible API until Ctrl+C.</summary>
public static class ServeCommand
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var model = new Option<string>("--model") { Description = "Model folder (config.json, model.safetensors, tokenizer.json).", Required = true };
        var adapter = new Option<string?>("--adapter") { Description = "LoRA adapter folder (PEFT: adapter_config.json + adapter_model.safetensors) to merge into the model at start-up." };
        var name = new Option<string?>("--name") { Description = "Model name clients send (default: the folder's name)." };
        var host = new Option<string?>("--host") { Description = "Address to bind (default Serve:Host, 127.0.0.1). Other than loopback needs an API key." };
        var port = new Option<int?>("--port") { Description = "Port (default Serve:Port, 8088; 0 picks a free one)." };
        var command = new Command("serve", "Serve a model over an OpenAI-compatible API: /v1/chat/completions (tools, logprobs, streaming), /v1/models, and the Azure deployment route.")
        {
            model, adapter, name, host, port,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var cli = context(parse);
            var options = cli.Options.Serve;
            options.Host = parse.GetValue(host) ?? options.Host;
            options.Port = parse.GetValue(port) ?? options.Port;
            var apiKey = Environment.GetEnvironmentVariable(options.ApiKeyEnv);

            var dir = Path.GetFullPath(parse.GetValue(model)!);
            var device = DeviceSelection.Resolve(cli.Options.Device);
            var adapterDir = parse.GetValue(adapter) is { } a ? Path.GetFullPath(a) : null;
            using var served = ServedModel.Load(dir, device, options.DecodeWorkers, adapterDir);
            var folder = served.Folder;
            var modelId = parse.GetValue(name) ?? Path.GetFileName(dir.TrimEnd(Path.DirectorySeparatorChar));
            await using var engine = new LlamaChatEngine(served.Replicas, folder.Tokenizer, folder.Template, modelId, options.MaxBatchSize, options.GuideToolCalls);
            await using var app = ChatServer.Build(engine, options, apiKey, cli.LoggerFactory);
            await app.StartAsync(cancellationToken);
            foreach (var url in app.Urls)
            {
                cli.Console.MarkupLineInterpolated($"Serving [bold]{modelId}[/]{(adapterDir is null ? "" : $" with adapter {adapterDir}")} at {url}/v1 (Ctrl+C to stop){(apiKey is null ? "" : "; API key required")}");
            }
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C: stop accepting requests and finish cleanly.
            }
            await app.StopAsync(CancellationToken.None);
            return DistillApp.Success;
        });
        return command;
    }
}
