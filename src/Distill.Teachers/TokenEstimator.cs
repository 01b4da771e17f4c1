namespace Distill.Teachers;

/// <summary>
/// Estimates the tokens a request will use before it is sent, for the tokens-per-minute limiter: prompt characters / 4
/// (messages, tool calls and tool schemas) plus max_tokens (or <see cref="DefaultCompletionTokens"/> when unset).
/// </summary>
public static class TokenEstimator
{
    public const int DefaultCompletionTokens = 1024;

    public static int Estimate(TeacherRequest request)
    {
        long chars = request.Tools?.Length ?? 0;
        foreach (var m in request.Messages)
        {
            chars += (m.Content?.Length ?? 0) + 4; // role and framing
            foreach (var c in m.ToolCalls) chars += c.Name.Length + c.Arguments.Length;
        }
        long tokens = (chars + 3) / 4 + (request.MaxTokens ?? DefaultCompletionTokens);
        return (int)Math.Min(int.MaxValue, Math.Max(1, tokens));
    }

    /// <summary>Framing tokens allowed per message (role, separators) and per tool schema (the provider's own wrapping text).</summary>
    public const int FramingTokensPerMessage = 8, FramingTokensPerTool = 32;

    /// <summary>
    /// The most prompt tokens <paramref name="request"/> can bill: one per UTF-8 byte of the messages, tool calls and tool schemas
    /// (every byte-level BPE or byte-fallback tokenizer makes at most one token per byte), plus generous framing per message and
    /// per tool. Typically 3 to 4 times the real count for English: the budget reserves this and releases the rest after the call.
    /// </summary>
    public static long PromptTokensUpperBound(TeacherRequest request)
    {
        long tokens = FramingTokensPerMessage; // the reply's priming
        if (!string.IsNullOrEmpty(request.Tools))
        {
            tokens += Bytes(request.Tools);
            tokens += FramingTokensPerTool * Math.Max(1, CountOccurrences(request.Tools, "\"name\""));
        }
        foreach (var m in request.Messages)
        {
            tokens += FramingTokensPerMessage + Bytes(m.Content) + Bytes(m.Reasoning) + Bytes(m.ToolCallId) + Bytes(m.Name);
            foreach (var c in m.ToolCalls)
                tokens += FramingTokensPerMessage + Bytes(c.Id) + Bytes(c.Name) + Bytes(c.Arguments);
        }
        return tokens;
    }

    private static long Bytes(string? text) => text is null ? 0 : System.Text.Encoding.UTF8.GetByteCount(text);

    private static int CountOccurrences(string text, string part)
    {
        int n = 0;
        for (int i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal)) n++;
        return n;
    }
}
