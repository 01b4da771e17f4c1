namespace Distill.Core.Errors;

/// <summary>
/// An error the user can fix: bad configuration, a broken template, a corrupt file, a missing key.
/// The CLI prints <see cref="Exception.Message"/> and <see cref="Hint"/> on one line and exits with code 1;
/// stack traces only with --verbose. Messages must never contain secrets.
/// </summary>
public class DistillException : Exception
{
    public DistillException(string message, string? hint = null, Exception? inner = null)
        : base(message, inner) => Hint = hint;

    /// <summary>What the user should do about it, e.g. "run `distill dataset validate` to list every problem".</summary>
    public string? Hint { get; }

    /// <summary>The single line shown to the user.</summary>
    public string OneLine => Hint is null ? Message : $"{Message.TrimEnd('.')}. {Hint}";
}
