using Distill.Core.Samples;

namespace Distill.Server.Engine;

/// <summary>
/// What the server needs from a model: answer chat requests, whole or streamed. Implementations own batching:
/// concurrent calls are expected and should be grouped into batched forward passes, not run one after another.
/// Logprobs are the model's own distribution, before temperature and top-p (the server says so as <c>logprobs_mode</c>
/// <c>raw_logprobs</c>), with the token ids they score.
/// </summary>
public interface IChatEngine
{
    /// <summary>The model name clients put in "model" (and the Azure deployment name).</summary>
    string ModelId { get; }

    /// <summary>Maximum prompt + completion tokens.</summary>
    int ContextLength { get; }

    /// <summary>Prompt tokens of a request, so the server can refuse one that does not fit before queueing it.</summary>
    int CountPromptTokens(EngineRequest request);

    Task<EngineResult> CompleteAsync(EngineRequest request, CancellationToken cancellationToken);

    /// <summary>Deltas of every choice, interleaved; the last delta of each choice carries its finish reason.</summary>
    IAsyncEnumerable<EngineDelta> StreamAsync(EngineRequest request, CancellationToken cancellationToken);
}

/// <summary>"auto" (model decides), "none" (no tool calls), "required" (must call a tool), or a function name to call.</summary>
public sealed record ToolChoice(string Mode, string? FunctionName = null)
{
    public static readonly ToolChoice Auto = new("auto");
}

/// <summary>A validated chat-completion request.</summary>
public sealed record EngineRequest
{
    public required IReadOnlyList<ChatMessage> Messages { get; init; }

    /// <summary>The OpenAI "tools" array as JSON text, or null.</summary>
    public string? ToolsJson { get; init; }

    public IReadOnlyList<string> ToolNames { get; init; } = [];
    public ToolChoice ToolChoice { get; init; } = ToolChoice.Auto;

    /// <summary>
    /// The functions a reply may call: none under tool_choice "none", so a &lt;tool_call&gt; the model writes anyway comes back as
    /// text content (as vLLM does), never as a call the client said it did not want.
    /// </summary>
    public IReadOnlyList<string> CallableToolNames => ToolChoice.Mode == "none" ? [] : ToolNames;
    public double Temperature { get; init; } = 1.0;
    public double TopP { get; init; } = 1.0;
    public int? MaxTokens { get; init; }
    public long? Seed { get; init; }
    public IReadOnlyList<string> Stop { get; init; } = [];
    public int N { get; init; } = 1;
    public bool Logprobs { get; init; }
    public int TopLogprobs { get; init; }
}

public static class FinishReasons
{
    public const string Stop = "stop";
    public const string Length = "length";
    public const string ToolCalls = "tool_calls";
}

/// <summary>One completed choice.</summary>
public sealed record EngineChoice(
    int Index,
    string? Content,
    string? Reasoning,
    IReadOnlyList<ToolCall> ToolCalls,
    string FinishReason,
    IReadOnlyList<TokenLogprob>? Logprobs);

public sealed record EngineUsage(int PromptTokens, int CompletionTokens)
{
    public int TotalTokens => PromptTokens + CompletionTokens;
}

public sealed record EngineResult(IReadOnlyList<EngineChoice> Choices, EngineUsage Usage);

/// <summary>A piece of a streamed choice. Tool calls arrive whole, once they have been parsed.</summary>
public sealed record EngineDelta(
    int Index,
    string? Content = null,
    string? Reasoning = null,
    IReadOnlyList<ToolCall>? ToolCalls = null,
    IReadOnlyList<TokenLogprob>? Logprobs = null,
    string? FinishReason = null,
    EngineUsage? Usage = null);

/// <summary>The request cannot be served as asked (e.g. the prompt is longer than the context). Maps to a 400.</summary>
public sealed class EngineRequestException(string message, string code, string? param = null) : Exception(message)
{
    public string Code { get; } = code;
    public string? Param { get; } = param;
}
