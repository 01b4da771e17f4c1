using System.Text.Json;

namespace Distill.Teachers.Tests.FaultServer;

/// <summary>Settings of a <see cref="FaultServer"/>. Mutable between requests (read per request).</summary>
public sealed class FaultServerOptions
{
    /// <summary>The key the server expects: Bearer on /v1, <c>api-key</c> on the Azure route.</summary>
    public string ApiKey { get; set; } = "sk-test-SECRET-123";

    /// <summary>The api-version the Azure route accepts (400 otherwise).</summary>
    public string AzureApiVersion { get; set; } = "2024-10-21";

    /// <summary>Fault for requests the script does not cover.</summary>
    public Fault DefaultFault { get; set; } = Fault.None;

    /// <summary>Share of unscripted requests that get a random fault from <see cref="RandomFaults"/> (0 = none).</summary>
    public double RandomFaultRate { get; set; }

    public IReadOnlyList<Fault> RandomFaults { get; set; } = [Fault.RateLimited, Fault.ServerError, Fault.Unavailable, Fault.DropConnection];

    /// <summary>Seed of the random fault choice, for reproducible runs.</summary>
    public int Seed { get; set; } = 1234;

    /// <summary>Retry-After header value on 429/503 (seconds, or an HTTP date string); null to leave it out.</summary>
    public string? RetryAfter { get; set; }

    /// <summary>retry-after-ms header value on 429/503; null to leave it out.</summary>
    public int? RetryAfterMs { get; set; }

    /// <summary>Delay before every answer.</summary>
    public TimeSpan Latency { get; set; } = TimeSpan.Zero;

    /// <summary>Requests allowed per <see cref="RateWindow"/> (sliding); over it the server answers 429. Null: no limit.</summary>
    public int? RequestsPerWindow { get; set; }

    public TimeSpan RateWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Answer every request that asks for logprobs with OpenAI's 400 "You are not allowed to request logprobs from this model".</summary>
    public bool RefuseLogprobs { get; set; }

    /// <summary>Cost variation: completions of this many words (repeating the normal answer's words), chosen per request from the seeded random; null keeps the answer.</summary>
    public (int Min, int Max)? CompletionWords { get; set; }

    /// <summary>Content of a normal answer; null echoes "echo: {last user message}".</summary>
    public string? Content { get; set; }

    /// <summary>When set, normal answers carry this as <c>reasoning_content</c>.</summary>
    public string? ReasoningContent { get; set; }

    /// <summary>Logprobs carry <c>token_id</c> as Distill's <c>serve</c> sends them: 100 + i for token i, 1000 (i + 1) + k for its alternative k.</summary>
    public bool LogprobTokenIds { get; set; }

    /// <summary>When set, the logprobs object carries this as <c>logprobs_mode</c> (e.g. "raw_logprobs").</summary>
    public string? LogprobsMode { get; set; }

    /// <summary>Cached prompt tokens reported in usage.prompt_tokens_details.cached_tokens.</summary>
    public int CachedTokens { get; set; }

    /// <summary>When the request offers tools, answer with a call to the first tool with these arguments (finish_reason tool_calls).</summary>
    public string? ToolCallArguments { get; set; }

    /// <summary>Full control of normal answers: given the request body, return the assistant message fields. Overrides the above.</summary>
    public Func<JsonElement, ScriptedReply>? Reply { get; set; }
}

/// <summary>An assistant answer the server sends back.</summary>
public sealed record ScriptedReply(string? Content, IReadOnlyList<ScriptedToolCall>? ToolCalls = null, string? FinishReason = null, string? Reasoning = null);

public sealed record ScriptedToolCall(string Name, string Arguments, string? Id = null);

/// <summary>What the server saw of one request.</summary>
public sealed record ReceivedRequest(string Path, string Query, string? Authorization, string? ApiKeyHeader, string Body, DateTimeOffset At, int Status, Fault Fault);
