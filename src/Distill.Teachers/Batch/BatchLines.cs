using System.ClientModel.Primitives;
using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Core.Samples;

namespace Distill.Teachers.Batch;

/// <summary>
/// The Batch API's JSONL: one chat-completions request per input line (<c>custom_id</c>, <c>method</c>, <c>url</c>, <c>body</c>),
/// and the lines of the output and error files read back and turned into <see cref="TeacherResponse"/>s through the SDK's own
/// chat-completion model and <see cref="OpenAIChatTeacher.FromCompletion"/>, exactly as an online call's response is.
/// </summary>
public static class BatchLines
{
    /// <summary>The <c>url</c> of each line and the batch's <c>endpoint</c>: <c>/chat/completions</c> (Azure) or <c>/v1/chat/completions</c> (OpenAI).</summary>
    public static string ChatUrl(TeacherOptions teacher) => teacher.Provider == TeacherProviders.AzureOpenAI ? "/chat/completions" : "/v1/chat/completions";

    /// <summary>
    /// One input line: the body an online call to <paramref name="teacher"/> sends (the model, or the Azure deployment, as
    /// <c>model</c>; <c>max_tokens</c> for Azure and <c>max_completion_tokens</c> for OpenAI, as the SDK clients send them).
    /// </summary>
    public static string Render(string customId, TeacherRequest request, TeacherOptions teacher)
    {
        if (request.Messages.Count == 0) throw new ArgumentException("a request needs at least one message", nameof(request));
        var body = new JsonObject { ["model"] = teacher.Model, ["messages"] = new JsonArray([.. request.Messages.Select(m => (JsonNode)Message(m, teacher.SendReasoning))]) };
        if (request.Temperature is { } t) body["temperature"] = t;
        if (request.TopP is { } p) body["top_p"] = p;
        if (request.MaxTokens is { } max) body[teacher.Provider == TeacherProviders.AzureOpenAI ? "max_tokens" : "max_completion_tokens"] = max;
        if (request.Seed is { } seed) body["seed"] = seed;
        if (request.Stop.Count > 0) body["stop"] = new JsonArray([.. request.Stop.Select(s => (JsonNode)s)]);
        if (request.Logprobs)
        {
            body["logprobs"] = true;
            if (request.TopLogprobs is > 0) body["top_logprobs"] = request.TopLogprobs;
        }
        if (!string.IsNullOrWhiteSpace(request.Tools))
        {
            OpenAIChatTeacher.ParseTools(request.Tools); // the validation an online call does
            body["tools"] = JsonNode.Parse(request.Tools);
        }
        if (!string.IsNullOrWhiteSpace(request.ToolChoice))
            body["tool_choice"] = request.ToolChoice is "auto" or "none" or "required"
                ? request.ToolChoice
                : new JsonObject { ["type"] = "function", ["function"] = new JsonObject { ["name"] = request.ToolChoice } };
        return new JsonObject { ["custom_id"] = customId, ["method"] = "POST", ["url"] = ChatUrl(teacher), ["body"] = body }.ToJsonString();
    }

    /// <summary>Reads one line of an output or error file. Throws <see cref="JsonException"/> when it is not a batch line.</summary>
    public static BatchLineResult Read(string line)
    {
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        var customId = root.TryGetProperty("custom_id", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString()! : throw new JsonException("a batch line has no custom_id");
        var hasResponse = root.TryGetProperty("response", out var response) && response.ValueKind == JsonValueKind.Object;
        if (!hasResponse)
        {
            var error = root.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.Object ? e : default;
            return error.ValueKind == JsonValueKind.Object
                ? new BatchLineResult(customId, null, null, Text(error, "code"), Text(error, "message"))
                : new BatchLineResult(customId, null, null, "no_response", "the line has neither a response nor an error");
        }
        int? status = response.TryGetProperty("status_code", out var s) && s.TryGetInt32(out var code) ? code : null;
        var body = response.TryGetProperty("body", out var b) && b.ValueKind == JsonValueKind.Object ? b : default;
        var raw = body.ValueKind == JsonValueKind.Object ? BinaryData.FromString(body.GetRawText()) : null;
        if (status == 200) return new BatchLineResult(customId, 200, raw, null, null);
        var err = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("error", out var inner) && inner.ValueKind == JsonValueKind.Object ? inner : default;
        return new BatchLineResult(customId, status, raw,
            err.ValueKind == JsonValueKind.Object ? Text(err, "code") ?? $"http_{status}" : $"http_{status}",
            err.ValueKind == JsonValueKind.Object ? Text(err, "message") : null);
    }

    /// <summary>
    /// A succeeded line's completion as the response to <paramref name="request"/>, priced by <paramref name="cost"/> (the batch
    /// price). Throws <see cref="TeacherMalformedResponseException"/> when the body is not a chat completion.
    /// </summary>
    public static TeacherResponse ToResponse(BatchLineResult line, TeacherRequest request, TeacherOptions teacher, CostCalculator cost, TimeSpan latency)
    {
        if (!line.Succeeded) throw new ArgumentException("only a succeeded line has a completion", nameof(line));
        try
        {
            var completion = ModelReaderWriter.Read<OpenAI.Chat.ChatCompletion>(line.Body!, ModelReaderWriterOptions.Json)
                ?? throw new JsonException("the line's body is not a chat completion");
            return OpenAIChatTeacher.FromCompletion(completion, line.Body!, latency, request, teacher, cost);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or KeyNotFoundException or ArgumentException or NullReferenceException)
        {
            throw new TeacherMalformedResponseException(teacher.Name, $"batch line {line.CustomId}: {e.Message.ReplaceLineEndings(" ")}");
        }
    }

    /// <summary>
    /// A failed line as the exception an online call would have thrown: a refusal (4xx) as <see cref="TeacherRequestException"/>
    /// (so a filtered prompt rejects as content_filter), anything retryable as <see cref="TeacherUnavailableException"/>.
    /// </summary>
    public static TeacherException ToException(BatchLineResult line, string teacherName, int attempts) => line.IsRetryable
        ? new TeacherUnavailableException(teacherName, $"Teacher '{teacherName}': a batch request failed {attempts} time(s), last with {line.ErrorCode}: {OneLine(line.ErrorMessage)}")
        : new TeacherRequestException(teacherName, $"Teacher '{teacherName}' refused a batch request (HTTP {line.Status}) {line.ErrorCode}: {OneLine(line.ErrorMessage)}",
            line.ErrorCode == "content_filter" ? "the prompt was filtered; the sample is rejected" : "the sample is rejected; check the request parameters",
            line.Status ?? 400, line.ErrorCode);

    private static JsonObject Message(ChatMessage m, bool sendReasoning)
    {
        var o = new JsonObject { ["role"] = m.Role, ["content"] = m.Content };
        if (m.ToolCalls.Count > 0)
            o["tool_calls"] = new JsonArray([.. m.ToolCalls.Select(c => (JsonNode)new JsonObject
            {
                ["id"] = c.Id,
                ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = c.Name, ["arguments"] = c.Arguments },
            })]);
        if (m.ToolCallId is not null) o["tool_call_id"] = m.ToolCallId;
        if (sendReasoning && m.Role == ChatRoles.Assistant && !string.IsNullOrEmpty(m.Reasoning)) o["reasoning_content"] = m.Reasoning;
        return o;
    }

    private static string OneLine(string? text)
    {
        var line = (text ?? "no message").ReplaceLineEndings(" ").Trim();
        return line.Length <= 200 ? line : line[..200] + "...";
    }

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
