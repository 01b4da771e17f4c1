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

    /// <summary>The value of <see cref="Logprobs"/>' <c>logprobs_mode</c>: engines report the model's own distribution.</summary>
    public const string LogprobsMode = "raw_logprobs";

    /// <summary>
    /// OpenAI's logprobs object plus two fields OpenAI clients ignore: <c>token_id</c> on every entry and alternative, so a client
    /// that reads it (Distill's teacher client) keeps the ids instead of mapping text back to ids (which fails for a token that
    /// is part of a UTF-8 character), and <c>logprobs_mode</c> (vLLM's name for it): <c>raw_logprobs</c>, the distribution before
    /// temperature and top-p (<see cref="IChatEngine"/>), which tells logit KD the logprobs' temperature is 1.
    /// </summary>
    private static JsonObject Logprobs(IReadOnlyList<TokenLogprob> tokens) => new()
    {
        ["content"] = new JsonArray(tokens.Select(token => (JsonNode)Entry(token.Token, token.TokenId, token.Logprob,
            new JsonArray(token.Top.Select(top => (JsonNode)Entry(top.Token, top.TokenId, top.Logprob, null)).ToArray()))).ToArray()),
        ["refusal"] = null,
        ["logprobs_mode"] = LogprobsMode,
    };

    private static JsonObject Entry(string token, int? tokenId, double logprob, JsonArray? top)
    {
        var entry = new JsonObject
        {
            ["token"] = token,
            ["logprob"] = logprob,
            ["bytes"] = Bytes(token),
        };
        if (top is not null) entry["top_logprobs"] = top;
        if (tokenId is { } id) entry["token_id"] = id;
        return entry;
    }

    private static JsonArray Bytes(string token) =>
        new(Encoding.UTF8.GetBytes(token).Select(b => (JsonNode)JsonValue.Create((int)b)).ToArray());

    private static JsonObject Usage(EngineUsage usage) => new()
    {
        ["prompt_tokens"] = usage.PromptTokens,
        ["completion_tokens"] = usage.CompletionTokens,
        ["total_tokens"] = usage.TotalTokens,
    };
}
