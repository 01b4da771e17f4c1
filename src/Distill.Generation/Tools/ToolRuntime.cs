using System.Text.Json;
using Distill.Core.Samples;
using Microsoft.SemanticKernel;

namespace Distill.Generation.Tools;

/// <summary>Why a tool call could not run: the sample's reject reason when the teacher repeats the mistake.</summary>
public static class ToolErrorReasons
{
    public const string UnknownTool = "unknown_tool";
    public const string InvalidArguments = "invalid_tool_arguments";
    public const string ExecutionFailed = "tool_execution_failed";
}

/// <summary>The outcome of one tool call: the text fed back to the teacher, and the error reason when the call was invalid.</summary>
public sealed record ToolResult(string Content, string? ErrorReason)
{
    public bool IsError => ErrorReason is not null;

    /// <summary>The tool turn that answers <paramref name="call"/>, flagged <see cref="ChatMessage.IsError"/> when the call failed.</summary>
    public ChatMessage ToMessage(ToolCall call) => ChatMessage.Tool(call.Id, call.Name, Content, IsError);
}

/// <summary>
/// Offers Semantic Kernel functions to a teacher as OpenAI tool schemas and runs the teacher's tool calls: unknown tools and
/// arguments that do not match the tool's full schema (invalid JSON; checked by <see cref="ToolArgumentSchema"/>: a required
/// key missing, a wrong type, a value outside an enum, an unknown key, at any depth) become tool errors; valid calls execute
/// the real <see cref="KernelFunction"/>. Thread-safe.
/// </summary>
public sealed class ToolRuntime
{
    private readonly Kernel _kernel = new();
    private readonly Dictionary<string, KernelFunction> _functions;
    private readonly Dictionary<string, ToolArgumentSchema> _schemas;

    public ToolRuntime(IEnumerable<KernelFunction> functions)
    {
        _functions = functions.ToDictionary(f => f.Name, StringComparer.Ordinal);
        _schemas = _functions.ToDictionary(f => f.Key, f => new ToolArgumentSchema(f.Value), StringComparer.Ordinal);
        SchemasJson = ToolSchemas.ToOpenAiTools(_functions.Values).ToJsonString();
    }

    /// <summary>The OpenAI "tools" array.</summary>
    public string SchemasJson { get; }

    public IReadOnlyCollection<string> Names => _functions.Keys;

    /// <summary>Null when the call may run, else the error to feed back.</summary>
    public ToolResult? Validate(ToolCall call, out KernelArguments arguments)
    {
        arguments = new KernelArguments();
        if (!_functions.ContainsKey(call.Name))
        {
            return Error(ToolErrorReasons.UnknownTool,
                $"unknown tool '{call.Name}'; the available tools are {string.Join(", ", _functions.Keys.Order(StringComparer.Ordinal))}");
        }

        JsonElement args;
        try
        {
            using var doc = JsonDocument.Parse(string.IsNullOrWhiteSpace(call.Arguments) ? "{}" : call.Arguments);
            args = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            return Error(ToolErrorReasons.InvalidArguments, $"the arguments of {call.Name} are not valid JSON ({e.Message.Split('.')[0]})");
        }
        if (args.ValueKind != JsonValueKind.Object)
        {
            return Error(ToolErrorReasons.InvalidArguments, $"the arguments of {call.Name} must be a JSON object");
        }

        var problems = _schemas[call.Name].Problems(args);
        foreach (var property in args.EnumerateObject())
        {
            arguments[property.Name] = property.Value.ValueKind switch
            {
                JsonValueKind.String => property.Value.GetString(),
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                _ => property.Value.GetRawText(),
            };
        }
        return problems.Count == 0 ? null : Error(ToolErrorReasons.InvalidArguments, $"invalid arguments for {call.Name}: {string.Join("; ", problems)}");
    }

    /// <summary>Validates and, when valid, executes the call. Never throws for a bad call; cancellation propagates.</summary>
    public async Task<ToolResult> InvokeAsync(ToolCall call, CancellationToken cancellationToken = default)
    {
        if (Validate(call, out var arguments) is { } error)
        {
            return error;
        }
        try
        {
            var result = await _functions[call.Name].InvokeAsync(_kernel, arguments, cancellationToken).ConfigureAwait(false);
            return new ToolResult(result.GetValue<object>()?.ToString() ?? "", null);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return Error(ToolErrorReasons.ExecutionFailed, $"{call.Name} failed: {e.Message}");
        }
    }

    // Relaxed escaping: the teacher reads these messages, so keep quotes and apostrophes readable.
    private static readonly JsonSerializerOptions Readable = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static ToolResult Error(string reason, string message) =>
        new(JsonSerializer.Serialize(new { error = message }, Readable), reason);
}
