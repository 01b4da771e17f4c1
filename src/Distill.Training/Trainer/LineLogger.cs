using Microsoft.Extensions.Logging;

namespace Distill.Training.Trainer;

/// <summary>
/// A logger (and its provider) that prints each message as one plain line, no level or category: the training log as a user reads
/// it (<c>step 10/200 | loss 2.3026 ...</c>). The caller says where a line goes: stdout, above a progress bar, a list in a test.
/// </summary>
public sealed class LineLogger(Action<string> writeLine, LogLevel minimum = LogLevel.Information) : ILogger, ILoggerProvider
{
    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel)) writeLine(formatter(state, exception));
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public ILogger CreateLogger(string categoryName) => this;

    public void Dispose()
    {
    }
}
