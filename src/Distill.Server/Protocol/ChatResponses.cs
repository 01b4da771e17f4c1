using System.Text;
using System.Text.Json.Nodes;
using Distill.Core.Samples;
using Distill.Server.Engine;

namespace Distill.Server.Protocol;

/// <summary>OpenAI chat-completion response bodies (whole and streamed chunks) built from engine results.</summary>
public static class ChatResponses
{
    public static JsonObject Completion(string id, string model, long created, EngineResult result) => new()
    {
        ["id"] = id,
        ["object"] = "chat.completion",
        ["created"] = created,
        ["model"] = model,
        ["system_fingerprint"] = null,
        ["choices"] = new JsonArray(result.Choices.Select(choice => (JsonNode)new JsonObject
        {
            ["index"] = choice.Index,
            ["message"] = Message(choice),
            ["logprobs"] = choice.Logprobs is null ? null : Logprobs(choice.Logprobs),
            ["finish_reason"] = choice.FinishReason,
        }).ToArray()),
        ["usage"] = Usage(result.Usage),
    };

    public static JsonObject Chunk(string id, string model, long created, EngineDelta delta, bool first)
    {
        var body = new JsonObject();
        if (first)
        {
            body["role"] = "assistant";
        }
        if (delta.Content is not null)
        {
            body["content"] = delta.Content;
        }
        if (delta.Reasoning is not null)
        {
            body["reasoning_content"] = delta.Reasoning;
        }
        if (delta.ToolCalls is { Count: > 0 } calls)
        {
            body["tool_calls"] = new JsonArray(calls.Select((call, i) => (JsonNode)new JsonObject
            {
                ["index"] = i,
                ["id"] = call.Id,
                ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = call.Name, ["arguments"] = call.Arguments },
            }).ToArray());
        }
        return new JsonObject
        {
            ["id"] = id,
            ["object"] = "chat.completion.chunk",
            ["created"] = created,
            ["model"] = model,
            ["system_fingerprint"] = null,
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = delta.Index,
                ["delta"] = body,
                ["logprobs"] = delta.Logprobs is null ? null : Logprobs(delta.Logprobs),
                ["finish_reason"] = delta.FinishReason,
            }),
        };
    }

    /// <summary>The extra last chunk that carries usage when stream_options.include_usage is set.</summary>
    public static JsonObject UsageChunk(string id, string model, long created, EngineUsage usage) => new()
    {
        ["id"] = id,
        ["object"] = "chat.completion.chunk",
        ["created"] = created,
        ["model"] = model,
        ["choices"] = new JsonArray(),
        ["usage"] = Usage(usage),
    };

    public static JsonObject Models(string model, long created) => new()
    {
        ["object"] = "list",
        ["data"] = new JsonArray(new JsonObject
        {
            ["id"] = model,
            ["object"] = "model",
            ["created"] = created,
            ["owned_by"] = "distill",
        }),
    };

    private static JsonObject Message(EngineChoice choice)
    {
        var message = new JsonObject
        {
            ["role"] = "assistant",
            ["content"] = choice.Content,
            ["refusal"] = null,
        };
        if (choice.Reasoning is not null)
        {
            message["reasoning_content"] = choice.Reasoning;
        }
        if (choice.ToolCalls.Count > 0)
        {
            message["tool_calls"] = new JsonArray(choice.ToolCalls.Select(call => (JsonNode)new JsonObject
            {
                ["id"] = call.Id,
                ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = call.Name, ["arguments"] = call.Arguments },
            }).ToArray());
        }
        return message;
    }

    private static JsonObject Logprobs(IReadOnlyList<TokenLogprob> tokens) => new()
    {
        ["content"] = new JsonArray(tokens.Select(token => (JsonNode)new JsonObject
        {
            ["token"] = token.Token,
            ["logprob"] = token.Logprob,
            ["bytes"] = Bytes(token.Token),
            ["top_logprobs"] = new JsonArray(token.Top.Select(top => (JsonNode)new JsonObject
            {
                ["token"] = top.Token,
                ["logprob"] = top.Logprob,
                ["bytes"] = Bytes(top.Token),
            }).ToArray()),
        }).ToArray()),
        ["refusal"] = null,
    };

    private static JsonArray Bytes(string token) =>
        new(Encoding.UTF8.GetBytes(token).Select(b => (JsonNode)JsonValue.Create((int)b)).ToArray());

    private static JsonObject Usage(EngineUsage usage) => new()
    {
        ["prompt_tokens"] = usage.PromptTokens,
        ["completion_tokens"] = usage.CompletionTokens,
        ["total_tokens"] = usage.TotalTokens,
    };
}
