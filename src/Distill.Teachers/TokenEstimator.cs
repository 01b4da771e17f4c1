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
}
