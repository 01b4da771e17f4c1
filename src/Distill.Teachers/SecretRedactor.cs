namespace Distill.Teachers;

/// <summary>Replaces a secret with "***" in any text that leaves the teacher layer (exception messages, logs).</summary>
internal sealed class SecretRedactor(string? secret)
{
    private readonly string? _secret = string.IsNullOrEmpty(secret) ? null : secret;

    public string Redact(string? text)
    {
        if (string.IsNullOrEmpty(text)) return text ?? "";
        return _secret is null ? text : text.Replace(_secret, "***", StringComparison.Ordinal);
    }
}
