using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.AI.OpenAI;
using Azure.Identity;
using Distill.Core.Errors;
using Distill.Core.Samples;
using OpenAI;
using OpenAI.Chat;
using CoreChatMessage = Distill.Core.Samples.ChatMessage;
using OaiChatMessage = OpenAI.Chat.ChatMessage;

namespace Distill.Teachers;

/// <summary>
/// One HTTP attempt against a chat-completions endpoint through <see cref="ChatClient"/> (OpenAI 2.1.0), no retries of its own
/// (the SDK's retry policy is off; <see cref="ResilientTeacher"/> owns retries). Maps every failure to a <see cref="TeacherException"/>.
/// </summary>
public sealed class OpenAIChatTeacher : ITeacher
{
    private readonly ChatClient _chat;
    private readonly SecretRedactor _redactor;
    private readonly CostCalculator _cost;

    /// <param name="environment">Reads environment variables (the API key); defaults to <see cref="Environment.GetEnvironmentVariable(string)"/>.</param>
    /// <param name="transport">HTTP transport override (tests, benchmarks); defaults to the SDK's shared HttpClient.</param>
    public OpenAIChatTeacher(TeacherOptions options, Func<string, string?>? environment = null, PipelineTransport? transport = null)
    {
        options.ThrowIfInvalid();
        Options = options;
        Info = new TeacherInfo(options.Provider, options.Model, options.TokenizerId);
        _cost = new CostCalculator(options);
        environment ??= Environment.GetEnvironmentVariable;

        string? key = null;
        if (options.ApiKeyEnv is not null)
        {
            key = environment(options.ApiKeyEnv);
            if (string.IsNullOrWhiteSpace(key))
                throw new DistillException($"Teacher '{options.Name}' reads its API key from the environment variable {options.ApiKeyEnv}, which is not set.",
                    $"set {options.ApiKeyEnv}, or remove ApiKeyEnv to use {(options.Provider == TeacherProviders.AzureOpenAI ? "Azure sign-in (DefaultAzureCredential)" : "no key")}");
        }
        _redactor = new SecretRedactor(key);

        // Polly owns the timeout; give the SDK's own network timeout some slack so it never fires first.
        var networkTimeout = options.AttemptTimeout + TimeSpan.FromSeconds(30);
        var endpoint = new Uri(options.Endpoint);
        if (options.Provider == TeacherProviders.AzureOpenAI)
        {
            var azureOptions = new AzureOpenAIClientOptions(options.ApiVersion == "2024-06-01"
                ? AzureOpenAIClientOptions.ServiceVersion.V2024_06_01
                : AzureOpenAIClientOptions.ServiceVersion.V2024_10_21)
            {
                RetryPolicy = new ClientRetryPolicy(0),
                NetworkTimeout = networkTimeout,
            };
            if (transport is not null) azureOptions.Transport = transport;
            var client = key is not null
                ? new AzureOpenAIClient(endpoint, new ApiKeyCredential(key), azureOptions)
                : new AzureOpenAIClient(endpoint, new DefaultAzureCredential(), azureOptions);
            _chat = client.GetChatClient(options.Model);
        }
        else
        {
            var openAIOptions = new OpenAIClientOptions
            {
                Endpoint = endpoint,
                RetryPolicy = new ClientRetryPolicy(0),
                NetworkTimeout = networkTimeout,
            };
            if (transport is not null) openAIOptions.Transport = transport;
            // Local servers (vLLM, llama.cpp, `distill serve`) ignore the key; the SDK insists on one.
            var client = new OpenAIClient(new ApiKeyCredential(key ?? "no-key"), openAIOptions);
            _chat = client.GetChatClient(options.Model);
        }
    }

    public TeacherOptions Options { get; }
    public string Name => Options.Name;
    public TeacherInfo Info { get; }

    public async Task<TeacherResponse> CompleteAsync(TeacherRequest request, CancellationToken cancellationToken = default)
    {
        if (request.Messages.Count == 0)
            throw new DistillException($"A request to teacher '{Name}' has no messages.", "every request needs at least one message");
        var messages = ToSdkMessages(request.Messages, Options.SendReasoning);
        var completionOptions = ToSdkOptions(request);
        var clock = Stopwatch.StartNew();
        ClientResult<ChatCompletion> result;
        try
        {
            result = await _chat.CompleteChatAsync(messages, completionOptions, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw; // ours (caller or Polly's attempt timeout): let it propagate as is
        }
        catch (ClientResultException e) when (e.Status == 0)
        {
            throw Transient($"could not reach the server ({Describe(e.InnerException ?? e)})", null, null, e.InnerException);
        }
        catch (ClientResultException e)
        {
            throw MapStatus(e);
        }
        catch (OperationCanceledException e)
        {
            throw Transient("the SDK's network timeout passed", null, null, e);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or SocketException)
        {
            throw Transient($"the connection failed ({Describe(e)})", null, null, e);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or KeyNotFoundException or ArgumentException or NullReferenceException)
        {
            throw new TeacherMalformedResponseException(Name, _redactor.Redact(OneLine(e.Message, 160)));
        }
        clock.Stop();

        try
        {
            return ToResponse(result, clock.Elapsed, request);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or KeyNotFoundException or ArgumentException or NullReferenceException)
        {
            throw new TeacherMalformedResponseException(Name, _redactor.Redact(OneLine(e.Message, 160)));
        }
    }

    private TeacherResponse ToResponse(ClientResult<ChatCompletion> result, TimeSpan latency, TeacherRequest request) =>
        FromCompletion(result.Value, result.GetRawResponse().Content, latency, request, Options, _cost);

    /// <summary>
    /// A chat completion (and its raw JSON, for the fields the SDK does not model) as a <see cref="TeacherResponse"/> priced by
    /// <paramref name="cost"/>: online calls and Batch API output lines (at the batch price) share it, so their rows are the same.
    /// </summary>
    internal static TeacherResponse FromCompletion(ChatCompletion completion, BinaryData rawBody, TimeSpan latency, TeacherRequest request, TeacherOptions options, CostCalculator cost)
    {
        var extras = ServerLogprobExtras.Read(rawBody.ToMemory());
        var logprobs = completion.ContentTokenLogProbabilities
            .Select((t, i) => new TokenLogprob(t.Token, extras.TokenId(i), t.LogProbability,
                t.TopLogProbabilities.Select((a, j) => new TopLogprob(a.Token, extras.TopTokenId(i, j), a.LogProbability)).ToList()))
            .ToList();
        var usage = completion.Usage is { } u
            ? new TeacherUsage(u.InputTokenCount, u.OutputTokenCount, u.InputTokenDetails?.CachedTokenCount ?? 0)
            : TeacherUsage.Zero;
        var content = completion.Content.Count == 0 ? null : string.Concat(completion.Content.Select(p => p.Text));
        return new TeacherResponse
        {
            Content = content,
            Reasoning = ReadReasoning(rawBody),
            Refusal = completion.Refusal,
            ToolCalls = completion.ToolCalls.Select(c => new ToolCall(c.Id, c.FunctionName, c.FunctionArguments?.ToString() ?? "")).ToList(),
            Logprobs = logprobs,
            // What the server says about its logprobs wins over the configured default.
            LogprobProvenance = logprobs.Count == 0 ? null
                : new LogprobProvenance(AsSent(request.Temperature), AsSent(request.TopP), request.TopLogprobs ?? 0, extras.Raw ?? options.RawLogprobs),
            Usage = usage,
            FinishReason = FinishReasonText(completion.FinishReason),
            Model = completion.Model,
            Latency = latency,
            CostUsd = cost.Cost(usage),
            TeacherName = options.Name,
            Teacher = new TeacherInfo(options.Provider, options.Model, options.TokenizerId),
        };
    }

    /// <summary>A float setting as the request wrote it (0.7f is 0.7, not 0.699999988), so comparisons with configured values hold.</summary>
    private static double? AsSent(float? value) => value is { } v && float.IsFinite(v) ? (double)(decimal)v : value;

    /// <summary><c>choices[0].message.reasoning_content</c> (or <c>reasoning</c>), which the SDK's model does not expose.</summary>
    private static string? ReadReasoning(BinaryData raw)
    {
        var bytes = raw.ToMemory();
        if (bytes.Span.IndexOf("\"reasoning"u8) < 0) return null; // most servers send none: skip the second parse
        using var doc = JsonDocument.Parse(bytes);
        if (!doc.RootElement.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0)
            return null;
        if (!choices[0].TryGetProperty("message", out var message) || message.ValueKind != JsonValueKind.Object) return null;
        foreach (var name in new[] { "reasoning_content", "reasoning" })
            if (message.TryGetProperty(name, out var r) && r.ValueKind == JsonValueKind.String)
                return r.GetString();
        return null;
    }

    private static string FinishReasonText(ChatFinishReason reason) => reason switch
    {
        ChatFinishReason.Stop => "stop",
        ChatFinishReason.Length => "length",
        ChatFinishReason.ContentFilter => "content_filter",
        ChatFinishReason.ToolCalls => "tool_calls",
        ChatFinishReason.FunctionCall => "function_call",
        _ => reason.ToString().ToLowerInvariant(),
    };

    private TeacherException MapStatus(ClientResultException e)
    {
        var raw = e.GetRawResponse();
        var (code, type, param, serverMessage) = ReadError(raw);
        string detail = serverMessage is null ? "" : $": {serverMessage}";
        switch (e.Status)
        {
            case 408 or 409 or 429 or 500 or 502 or 503 or 504:
                var retryAfter = raw is null ? null : RetryAfter.FromHeaders(raw.Headers);
                return Transient($"HTTP {e.Status} {Reason(e.Status)}{detail}", e.Status, retryAfter, null);
            case 401:
                return Rejected(e.Status, (code, type, param), $"Teacher '{Name}' rejected the credentials (HTTP 401){detail}",
                    Options.ApiKeyEnv is null ? "sign in (az login / managed identity) or set ApiKeyEnv" : $"check the key in {Options.ApiKeyEnv}");
            case 403:
                return Rejected(e.Status, (code, type, param), $"Teacher '{Name}' refused access (HTTP 403){detail}", "check the key's or identity's permissions on the resource");
            case 404:
                return Rejected(e.Status, (code, type, param), $"Teacher '{Name}' was not found at {Options.Endpoint} (HTTP 404){detail}",
                    Options.Provider == TeacherProviders.AzureOpenAI ? $"check Endpoint, the deployment name '{Options.Model}' and ApiVersion" : $"check Endpoint (include /v1) and the model name '{Options.Model}'");
            default:
                return Rejected(e.Status, (code, type, param), $"Teacher '{Name}' rejected the request (HTTP {e.Status} {Reason(e.Status)}){detail}",
                    code == "content_filter" ? "the prompt was filtered; the sample is rejected" : "the sample is rejected; check the request parameters");
        }
    }

    private TeacherRequestException Rejected(int status, (string? Code, string? Type, string? Param) error, string message, string hint) =>
        new(Name, _redactor.Redact(message), hint, status, error.Code, error.Type, error.Param);

    private TeacherTransientException Transient(string detail, int? status, TimeSpan? retryAfter, Exception? inner) =>
        new(Name, _redactor.Redact($"Teacher '{Name}' failed transiently: {detail}"), status, retryAfter,
            inner is null ? null : new IOException(_redactor.Redact(OneLine(inner.Message, 200))));

    /// <summary>The server's <c>error.code</c>, <c>type</c>, <c>param</c> and <c>message</c>, the message cut to one short line and redacted.</summary>
    private (string? Code, string? Type, string? Param, string? Message) ReadError(PipelineResponse? raw)
    {
        if (raw is null) return (null, null, null, null);
        try
        {
            using var doc = JsonDocument.Parse(raw.Content);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("error", out var err) && err.ValueKind == JsonValueKind.Object)
            {
                string? Text(string name) => err.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
                var msg = Text("message");
                return (Text("code"), Text("type"), Text("param"), msg is null ? null : _redactor.Redact(OneLine(msg, 200)));
            }
        }
        catch (JsonException) { }
        return (null, null, null, null);
    }

    private static string Reason(int status) => status switch
    {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    };

    private static string Describe(Exception e) => $"{e.GetType().Name}: {OneLine(e.Message, 120)}";

    private static string OneLine(string text, int max)
    {
        var line = text.ReplaceLineEndings(" ").Trim();
        return line.Length <= max ? line : line[..max] + "...";
    }

    /// <param name="sendReasoning">Write each assistant message's reasoning as <c>reasoning_content</c> (<see cref="TeacherOptions.SendReasoning"/>).</param>
    internal static List<OaiChatMessage> ToSdkMessages(IReadOnlyList<CoreChatMessage> messages, bool sendReasoning = false)
    {
        var list = new List<OaiChatMessage>(messages.Count);
        foreach (var m in messages)
        {
            OaiChatMessage sdk = m.Role switch
            {
                ChatRoles.System => new SystemChatMessage(m.Content ?? ""),
                ChatRoles.User => new UserChatMessage(m.Content ?? ""),
                ChatRoles.Assistant when m.ToolCalls.Count > 0 => AssistantWithTools(m),
                ChatRoles.Assistant => new AssistantChatMessage(m.Content ?? ""),
                ChatRoles.Tool => new ToolChatMessage(m.ToolCallId ?? throw new DistillException("A tool message has no ToolCallId.", "every tool turn must answer a tool call id"), m.Content ?? ""),
                _ => throw new DistillException($"Unknown chat role '{m.Role}'.", "use system, user, assistant or tool"),
            };
            if (sendReasoning && m.Role == ChatRoles.Assistant && !string.IsNullOrEmpty(m.Reasoning))
                sdk = WithReasoningContent(sdk, m.Reasoning);
            list.Add(sdk);
        }
        return list;
    }

    /// <summary>
    /// The message with a <c>reasoning_content</c> property. The SDK (2.1) has no field for it, but its models are
    /// <see cref="IJsonModel{T}"/>: a message read from JSON keeps the properties it does not know and writes them back into
    /// the request body. So the message goes out through the SDK's own serialization, one property richer.
    /// </summary>
    internal static OaiChatMessage WithReasoningContent(OaiChatMessage message, string reasoning)
    {
        var json = JsonNode.Parse(ModelReaderWriter.Write(message, ModelReaderWriterOptions.Json).ToString())!.AsObject();
        json["reasoning_content"] = reasoning;
        return ModelReaderWriter.Read<OaiChatMessage>(BinaryData.FromString(json.ToJsonString()), ModelReaderWriterOptions.Json)
            ?? throw new InvalidOperationException("the SDK read back no message");
    }

    private static AssistantChatMessage AssistantWithTools(CoreChatMessage m)
    {
        var msg = new AssistantChatMessage(m.ToolCalls.Select(c => ChatToolCall.CreateFunctionToolCall(c.Id, c.Name, BinaryData.FromString(c.Arguments))));
        if (!string.IsNullOrEmpty(m.Content)) msg.Content.Add(ChatMessageContentPart.CreateTextPart(m.Content));
        return msg;
    }

    internal static ChatCompletionOptions ToSdkOptions(TeacherRequest r)
    {
        var o = new ChatCompletionOptions
        {
            Temperature = r.Temperature,
            TopP = r.TopP,
            MaxOutputTokenCount = r.MaxTokens,
        };
#pragma warning disable OPENAI001 // Seed is marked experimental in 2.1.0; it is widely supported and we record it for lineage.
        o.Seed = r.Seed;
#pragma warning restore OPENAI001
        foreach (var s in r.Stop) o.StopSequences.Add(s);
        if (r.Logprobs)
        {
            o.IncludeLogProbabilities = true;
            if (r.TopLogprobs is > 0) o.TopLogProbabilityCount = r.TopLogprobs;
        }
        if (!string.IsNullOrWhiteSpace(r.Tools))
            foreach (var tool in ParseTools(r.Tools)) o.Tools.Add(tool);
        if (!string.IsNullOrWhiteSpace(r.ToolChoice))
            o.ToolChoice = r.ToolChoice switch
            {
                "auto" => ChatToolChoice.CreateAutoChoice(),
                "none" => ChatToolChoice.CreateNoneChoice(),
                "required" => ChatToolChoice.CreateRequiredChoice(),
                var name => ChatToolChoice.CreateFunctionChoice(name),
            };
        return o;
    }

    /// <summary>Parses an OpenAI "tools" JSON array into SDK tools; throws <see cref="DistillException"/> on bad JSON.</summary>
    internal static List<ChatTool> ParseTools(string toolsJson)
    {
        try
        {
            using var doc = JsonDocument.Parse(toolsJson);
            if (doc.RootElement.ValueKind != JsonValueKind.Array) throw new JsonException("the tools JSON is not an array");
            var tools = new List<ChatTool>();
            foreach (var t in doc.RootElement.EnumerateArray())
            {
                var fn = t.TryGetProperty("function", out var f) ? f : t;
                var name = fn.GetProperty("name").GetString() ?? throw new JsonException("a tool has no name");
                string? description = fn.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
                BinaryData? parameters = fn.TryGetProperty("parameters", out var p) ? BinaryData.FromString(p.GetRawText()) : null;
                bool? strict = fn.TryGetProperty("strict", out var s) && s.ValueKind is JsonValueKind.True or JsonValueKind.False ? s.GetBoolean() : null;
                tools.Add(ChatTool.CreateFunctionTool(name, description, parameters, strict));
            }
            return tools;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new DistillException($"The tools JSON is not a valid OpenAI tools array: {e.Message}", "check the template's tool schemas");
        }
    }
}
