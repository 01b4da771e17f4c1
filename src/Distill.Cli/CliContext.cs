using Distill.Cli.Composition;
using Distill.Cli.Configuration;
using Distill.Core.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace Distill.Cli;

/// <summary>What every command gets: where to write, whether to be verbose, and the configuration (loaded on first use).</summary>
public sealed class CliContext
{
    private readonly ConfigurationRequest _request;
    private IConfigurationRoot? _configuration;
    private DistillOptions? _options;
    private TaskDomains? _domains;

    public CliContext(IAnsiConsole console, TextWriter error, bool verbose, ConfigurationRequest request)
    {
        Console = console;
        Error = error;
        Verbose = verbose;
        _request = request;
        LoggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(builder => builder
            .SetMinimumLevel(verbose ? LogLevel.Debug : LogLevel.Warning)
            .AddSimpleConsole(o => o.SingleLine = true)
            .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));
    }

    public IAnsiConsole Console { get; }
    public TextWriter Error { get; }
    public bool Verbose { get; }
    public ILoggerFactory LoggerFactory { get; }

    /// <summary>The settings file in use, or null when none was found (defaults apply).</summary>
    public string? SettingsFile => ConfigurationLoader.ResolveSettingsFile(_request.SettingsFile);

    public IConfigurationRoot Configuration => _configuration ??= ConfigurationLoader.Load(_request);

    /// <summary>The validated options; throws <see cref="ConfigurationException"/> listing every problem.</summary>
    public DistillOptions Options => _options ??= StrictOptionsBinder.Bind<DistillOptions>(Configuration);

    /// <summary>The embedded world plus the settings' plugin assemblies (loaded on first use); throws a one-line error for a bad plugin.</summary>
    public TaskDomains Domains => _domains ??= TaskDomains.Load(Options.Plugins);
}
