using Distill.Core.Samples;

namespace Distill.Teachers;

/// <summary>One chat completion request to a teacher.</summary>
public sealed record TeacherRequest
{
    public required IReadOnlyList<ChatMessage> Messages { get; init; }

    /// <summary>JSON text of an OpenAI "tools" array (<c>[{"type":"function","function":{"name":..,"parameters":{..}}}]</c>), or null.</summary>
    public string? Tools { get; init; }

    /// <summary>"auto", "none", "required", or a function name to force; null leaves it to the server.</summary>
    public string? ToolChoice { get; init; }

    public float? Temperature { get; init; }
    public float? TopP { get; init; }
    public int? MaxTokens { get; init; }
    public long? Seed { get; init; }
    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>Ask for per-token logprobs.</summary>
    public bool Logprobs { get; init; }

    /// <summary>Alternatives per token (0-20) when <see cref="Logprobs"/> is set.</summary>
    public int? TopLogprobs { get; init; }

    public GenerationParams ToGenerationParams() => new(Temperature, TopP, Seed, MaxTokens);
}

/// <summary>Token usage of one completion.</summary>
public sealed record TeacherUsage(int PromptTokens, int CompletionTokens, int CachedPromptTokens)
{
    public static readonly TeacherUsage Zero = new(0, 0, 0);
    public int TotalTokens => PromptTokens + CompletionTokens;
}

/// <summary>
/// A teacher's answer. Content-filtered, truncated or refused completions come back as normal responses with
/// <see cref="RejectReason"/> set; the caller decides (usually: write a reject row and move on).
/// </summary>
public sealed record TeacherResponse
{
    public string? Content { get; init; }

    /// <summary>Separate reasoning, when the server returns <c>reasoning_content</c> (DeepSeek, vLLM reasoning parsers).</summary>
    public string? Reasoning { get; init; }

    /// <summary>The model's refusal text, when the server returns <c>refusal</c>.</summary>
    public string? Refusal { get; init; }

    /// <summary>Tool calls with arguments exactly as returned (possibly invalid JSON, possibly an unknown tool).</summary>
    public IReadOnlyList<ToolCall> ToolCalls { get; init; } = [];

    /// <summary>
    /// Per content token, with top-k alternatives; empty unless logprobs were requested and returned. Token ids are set when
    /// the server sent them (Distill's <c>serve</c> adds <c>token_id</c> to OpenAI's format), null otherwise.
    /// </summary>
    public IReadOnlyList<TokenLogprob> Logprobs { get; init; } = [];

    /// <summary>How <see cref="Logprobs"/> were produced (the request's sampling settings, raw or processed); null when there are none.</summary>
    public LogprobProvenance? LogprobProvenance { get; init; }

    public TeacherUsage Usage { get; init; } = TeacherUsage.Zero;

    /// <summary>"stop", "length", "tool_calls", "content_filter", "function_call", or null.</summary>
    public string? FinishReason { get; init; }

    /// <summary>The model the server says answered.</summary>
    public string? Model { get; init; }

    /// <summary>Wall time of the successful attempt (not counting queueing or retries).</summary>
    public TimeSpan Latency { get; init; }

    /// <summary>Cost of this completion from the answering teacher's prices.</summary>
    public double CostUsd { get; init; }

    /// <summary>The configured name of the teacher that answered (the fallback's name when it was used).</summary>
    public string TeacherName { get; init; } = "";

    /// <summary>Lineage of the answering teacher, for the dataset row.</summary>
    public TeacherInfo? Teacher { get; init; }

    /// <summary>Attempts made (1 when the first one succeeded).</summary>
    public int Attempts { get; init; } = 1;

    /// <summary>Null for a usable completion, otherwise one of <see cref="TeacherRejectReasons"/>.</summary>
    public string? RejectReason => FinishReason switch
    {
        "content_filter" => TeacherRejectReasons.ContentFilter,
        "length" => TeacherRejectReasons.Truncated,
        _ when !string.IsNullOrEmpty(Refusal) => TeacherRejectReasons.Refusal,
        _ => null,
    };

    public bool IsUsable => RejectReason is null;
}

/// <summary>The <c>reject_reason</c> values the teacher layer produces (see Distill.Core RejectedSample).</summary>
public static class TeacherRejectReasons
{
    /// <summary>finish_reason content_filter, or Azure's 400 content_filter on the prompt.</summary>
    public const string ContentFilter = "content_filter";
    /// <summary>finish_reason length: hit max_tokens.</summary>
    public const string Truncated = "truncated";
    /// <summary>The model refused (<c>refusal</c> field).</summary>
    public const string Refusal = "refusal";
    /// <summary>The server's body was not a valid chat completion.</summary>
    public const string MalformedResponse = "malformed_response";
    /// <summary>The server rejected the request (4xx other than 429).</summary>
    public const string RequestRejected = "teacher_request_rejected";
    /// <summary>Every teacher was down: retries exhausted, circuit open or total timeout.</summary>
    public const string Unavailable = "teacher_unavailable";
}

/// <summary>A teacher model behind a chat-completions API. Implementations are thread-safe.</summary>
public interface ITeacher
{
    /// <summary>The configured name.</summary>
    string Name { get; }

    /// <summary>Provider, model/deployment and tokenizer id, for lineage.</summary>
    TeacherInfo Info { get; }

    /// <summary>
    /// One chat completion. Throws <see cref="TeacherException"/> (see its subclasses) for failures the caller should classify,
    /// <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> fires.
    /// </summary>
    Task<TeacherResponse> CompleteAsync(TeacherRequest request, CancellationToken cancellationToken = default);
}
