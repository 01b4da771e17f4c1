using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Distill.Core.Samples;

namespace Distill.Data.Synthetic;

/// <summary>
/// Deterministic, realistic samples for tests and <c>distill bench dataset</c>: customer-service tool traces with
/// multi-turn messages, tool calls, tool results, reasoning and per-token teacher logprobs.
/// </summary>
public static class SyntheticSamples
{
    private static readonly string[] Words =
        ("the order was placed on and shipped from our warehouse your refund of is eligible because policy allows returns " +
         "within days tracking shows package in transit expected delivery customer support please let me know if anything " +
         "else can help you today I checked status account payment item product replacement carrier label").Split(' ');

    private const string ToolsJson =
        """[{"type":"function","function":{"name":"lookup_order","description":"Look up an order by id","parameters":{"type":"object","properties":{"order_id":{"type":"string"}},"required":["order_id"]}}},""" +
        """{"type":"function","function":{"name":"track_shipment","description":"Track a shipment","parameters":{"type":"object","properties":{"tracking_id":{"type":"string"}},"required":["tracking_id"]}}},""" +
        """{"type":"function","function":{"name":"refund_eligibility","description":"Check refund eligibility","parameters":{"type":"object","properties":{"order_id":{"type":"string"},"reason":{"type":"string"}},"required":["order_id"]}}}]""";

    /// <summary>
    /// <paramref name="count"/> tool-trace samples: system, user, assistant tool call(s), tool result(s), a final
    /// assistant answer of about 150 tokens. Every assistant turn, tool-call turns included, carries teacher logprobs with
    /// <paramref name="logprobsTopK"/> alternatives per token (0: no logprobs).
    /// Sample i depends only on (<paramref name="seed"/>, i), so a prefix of a longer run equals a shorter run.
    /// </summary>
    public static IEnumerable<Sample> ToolTraces(int count, int seed, int logprobsTopK = 20)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegative(logprobsTopK);
        var epoch = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        for (int i = 0; i < count; i++)
            yield return ToolTrace(seed, i, logprobsTopK, epoch.AddSeconds(i));
    }

    /// <summary>
    /// A generator seed from (seed, index, stream) that is the same in every process. HashCode.Combine, used here before, is
    /// seeded per process: each test run got other samples, and a test whose margin depended on them failed now and then.
    /// </summary>
    internal static int StableSeed(int seed, int index, int stream)
    {
        // splitmix64's finaliser over the three parts.
        var x = unchecked(((ulong)(uint)seed << 32 | (uint)index) ^ (ulong)(uint)stream * 0x9E3779B97F4A7C15UL);
        x = unchecked((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL);
        x = unchecked((x ^ (x >> 27)) * 0x94D049BB133111EBUL);
        return unchecked((int)(x ^ (x >> 31)));
    }

    private static Sample ToolTrace(int seed, int index, int topK, DateTimeOffset createdAt)
    {
        var rng = new Random(StableSeed(seed, index, stream: 0));
        string order = $"A{rng.Next(10000, 99999)}";
        string tracking = $"1Z{rng.Next(100000, 999999)}";
        bool twoCalls = rng.Next(3) > 0;
        var messages = new List<ChatMessage>
        {
            ChatMessage.System("You are a helpful customer-service agent for the store. Use the tools to answer."),
            ChatMessage.User($"Hi, where is my order {order}? It was supposed to arrive {rng.Next(2, 9)} days ago and I might want a refund."),
            ChatMessage.Assistant(null, [new ToolCall("call_1", "lookup_order", $$"""{"order_id":"{{order}}"}""")],
                reasoning: "The customer asks about an order; look it up first."),
            ChatMessage.Tool("call_1", "lookup_order",
                $$"""{"order_id":"{{order}}","status":"shipped","tracking_id":"{{tracking}}","total":{{rng.Next(10, 500)}}.{{rng.Next(10, 99)}}}"""),
        };
        if (twoCalls)
        {
            messages.Add(ChatMessage.Assistant(null,
                [new ToolCall("call_2", "track_shipment", $$"""{"tracking_id":"{{tracking}}"}"""),
                 new ToolCall("call_3", "refund_eligibility", $$"""{"order_id":"{{order}}","reason":"late"}""")]));
            messages.Add(ChatMessage.Tool("call_2", "track_shipment", $$"""{"status":"in_transit","eta_days":{{rng.Next(1, 5)}}}"""));
            messages.Add(ChatMessage.Tool("call_3", "refund_eligibility", """{"eligible":true,"policy":"late-delivery"}"""));
        }

        int answerTokens = 120 + rng.Next(61); // ~150 tokens
        var tokens = new string[answerTokens];
        for (int t = 0; t < answerTokens; t++)
            tokens[t] = (t == 0 ? "" : " ") + Words[rng.Next(Words.Length)];
        string answer = string.Concat(tokens).Trim();
        messages.Add(ChatMessage.Assistant(answer));

        messages[^1] = messages[^1] with { Logprobs = Logprobs(rng, tokens, topK) };
        // The tool-call turns' logprobs come from their own generator, so adding them left every other field as it was.
        var callRng = new Random(StableSeed(seed, index, stream: 7919));
        for (int m = 0; m < messages.Count - 1; m++)
            if (messages[m].ToolCalls.Count > 0)
                messages[m] = messages[m] with { Logprobs = Logprobs(callRng, Chunks(CallText(messages[m].ToolCalls), 3), topK) };

        string seedInput = $"order-status:{order}";
        int promptTokens = 180 + rng.Next(120);
        return new Sample
        {
            Id = DeterministicId("tool_trace", "support-v1", seedInput, index),
            Kind = SampleKinds.ToolTrace,
            Messages = messages,
            Tools = ToolsJson,
            Answer = answer,
            Rationale = "Looked up the order, tracked the shipment and checked refund eligibility.",
            TemplateId = "support/order-status",
            TemplateVersion = "sha256:5e1f0c",
            Recipe = "tool_trace",
            Teacher = new TeacherInfo("local", "distill-teacher-tiny", "tok:8c3a"),
            Params = new GenerationParams(0.7, 0.95, seed + index, 512),
            SeedInput = seedInput,
            CreatedAt = createdAt,
            Verified = rng.Next(10) > 0,
            Verifier = "tool-trace-exact",
            Score = Math.Round(rng.NextDouble(), 3),
            PromptTokens = promptTokens,
            CompletionTokens = answerTokens + 30,
            CostUsd = Math.Round((promptTokens * 2.5 + (answerTokens + 30) * 10) / 1_000_000, 8),
            LatencyMs = 300 + rng.Next(2000),
        };
    }

    /// <summary>One logprob per token, the token itself first among <paramref name="topK"/> alternatives (none when 0).</summary>
    private static TokenLogprob[] Logprobs(Random rng, string[] tokens, int topK)
    {
        var logprobs = new TokenLogprob[topK == 0 ? 0 : tokens.Length];
        for (int t = 0; t < logprobs.Length; t++)
        {
            var top = new TopLogprob[topK];
            double lp = -rng.NextDouble() * 0.5;
            for (int k = 0; k < topK; k++)
            {
                string text = k == 0 ? tokens[t] : " " + Words[rng.Next(Words.Length)];
                top[k] = new TopLogprob(text, TokenId(text), lp);
                _ = rng.Next(50_000); // the draw that was the id before ids followed the text: every other field stays as it was
                lp -= rng.NextDouble() * 2;
            }
            logprobs[t] = new TokenLogprob(tokens[t], top[0].TokenId, top[0].Logprob, top);
        }
        return logprobs;
    }

    /// <summary>
    /// A stand-in tokenizer's id for a token text: a stable hash into a 50,000-token vocabulary, so one text always has one id,
    /// as with a real tokenizer (the synthetic vocabulary is small: the ~70 words above and the 3-character chunks of tool calls).
    /// </summary>
    public static int TokenId(string text)
    {
        uint hash = 2166136261;
        foreach (char c in text) hash = (hash ^ c) * 16777619;
        return (int)(hash % 50_000);
    }

    private static string CallText(IReadOnlyList<ToolCall> calls) =>
        string.Concat(calls.Select(c => "<tool_call>{\"name\": \"" + c.Name + "\", \"arguments\": " + c.Arguments + "}</tool_call>"));

    private static string[] Chunks(string text, int size) =>
        Enumerable.Range(0, (text.Length + size - 1) / size).Select(i => text.Substring(i * size, Math.Min(size, text.Length - i * size))).ToArray();

    /// <summary>An id in the design's style: a hash of recipe, template version, seed input and sample index.</summary>
    public static string DeterministicId(string recipe, string templateVersion, string seedInput, int index)
    {
        var bytes = SHA256.HashData(Encoding.UTF8.GetBytes(
            string.Join('\n', recipe, templateVersion, seedInput, index.ToString(CultureInfo.InvariantCulture))));
        return Convert.ToHexStringLower(bytes.AsSpan(0, 12));
    }
}
