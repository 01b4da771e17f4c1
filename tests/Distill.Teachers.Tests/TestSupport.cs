using System.Collections.Concurrent;
using Distill.Teachers.Tests.FaultServer;
using Microsoft.Extensions.Logging;
using Server = Distill.Teachers.Tests.FaultServer.FaultServer;

namespace Distill.Teachers.Tests;

/// <summary>Short timeouts and backoffs so fault tests take milliseconds, plus a log sink to check for leaked secrets.</summary>
internal static class TestTeachers
{
    public const string Key = "sk-test-SECRET-123";
    public const string KeyEnv = "DISTILL_TEST_TEACHER_KEY";

    public static string? Env(string name) => name == KeyEnv ? Key : null;

    public static TeacherOptions Options(Server server, string name = "primary", string provider = TeacherProviders.OpenAICompatible) => new()
    {
        Name = name,
        Provider = provider,
        Endpoint = provider == TeacherProviders.AzureOpenAI ? server.BaseUri.ToString() : server.OpenAIEndpoint.ToString(),
        Model = "gpt-4o-mini",
        ApiKeyEnv = KeyEnv,
        MaxConcurrency = 64,
        AttemptTimeout = TimeSpan.FromSeconds(3),
        TotalTimeout = TimeSpan.FromSeconds(20),
        MaxRetries = 3,
        RetryBaseDelay = TimeSpan.FromMilliseconds(10),
        RetryMaxDelay = TimeSpan.FromMilliseconds(100),
        MaxRetryAfter = TimeSpan.FromSeconds(5),
        CircuitMinimumThroughput = 1000,
        CircuitSamplingDuration = TimeSpan.FromSeconds(30),
        CircuitBreakDuration = TimeSpan.FromSeconds(5),
        InputPricePer1M = 0.15,
        CachedInputPricePer1M = 0.075,
        OutputPricePer1M = 0.60,
    };

    public static TeacherRegistry Registry(LogSink? logs, params TeacherOptions[] teachers) =>
        TeacherRegistry.Create(teachers, logs?.Factory, environment: Env);

    public static TeacherRequest Ask(string text, int? maxTokens = 64) => new()
    {
        Messages = [Distill.Core.Samples.ChatMessage.System("You are terse."), Distill.Core.Samples.ChatMessage.User(text)],
        MaxTokens = maxTokens,
        Temperature = 0.2f,
    };

    public static Task<Server> StartServer(Action<FaultServerOptions>? configure = null)
    {
        var o = new FaultServerOptions { ApiKey = Key };
        configure?.Invoke(o);
        return Server.StartAsync(o);
    }
}

/// <summary>Collects every log line (with exceptions) written through its <see cref="Factory"/>.</summary>
internal sealed class LogSink : ILoggerProvider
{
    public readonly ConcurrentQueue<string> Lines = new();
    public ILoggerFactory Factory { get; }

    public LogSink() => Factory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(this));

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);
    public void Dispose() { }

    private sealed class Logger(LogSink sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            sink.Lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
    }
}
