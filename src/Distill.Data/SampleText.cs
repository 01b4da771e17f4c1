using System.Globalization;
using System.Text;
using System.Text.Json;
using Distill.Core.Samples;

namespace Distill.Data;

/// <summary>A tool call as shown by <c>distill dataset inspect</c>.</summary>
/// <param name="Arguments">Indented when valid JSON, else exactly as stored.</param>
public sealed record ToolCallView(string Id, string Name, string Arguments, bool ArgumentsAreValidJson);

/// <summary>One chat turn as shown by <c>distill dataset inspect</c>.</summary>
/// <param name="ToolCallId">Tool-result turns: the call they answer.</param>
/// <param name="ToolName">Tool-result turns: the tool's name.</param>
/// <param name="Answers">Tool-result turns: the call they answer, resolved (null when no earlier call has that id).</param>
/// <param name="Logprobs">Assistant turns: the teacher logprobs stored for this turn, summarized (null when none).</param>
public sealed record TurnView(
    int Index, string Role, string? Content, string? Reasoning, IReadOnlyList<ToolCallView> ToolCalls,
    string? ToolCallId, string? ToolName, ToolCallView? Answers, LogprobSummary? Logprobs = null);

/// <summary>Teacher logprobs in one line: how many tokens, how many alternatives per token, mean and min logprob.</summary>
/// <param name="Turns">How many assistant turns the summarized logprobs come from.</param>
/// <param name="AssistantTurns">How many assistant turns there are (for a whole sample; 1 for one turn).</param>
public sealed record LogprobSummary(int Tokens, int TopK, double MeanLogprob, double MinLogprob, int Turns = 1, int AssistantTurns = 1)
{
    /// <summary>The summary of <paramref name="turns"/>' logprobs together; null when none has any.</summary>
    public static LogprobSummary? Of(IReadOnlyList<IReadOnlyList<TokenLogprob>> turns)
    {
        var all = turns.SelectMany(t => t).ToArray();
        if (all.Length == 0) return null;
        return new LogprobSummary(all.Length, all.Max(t => t.Top.Count), all.Average(t => t.Logprob), all.Min(t => t.Logprob),
            turns.Count(t => t.Count > 0), turns.Count);
    }
}

/// <summary>A plain structured view of one sample; the CLI decides colors and layout.</summary>
/// <param name="Lineage">Ordered label/value pairs: template, recipe, teacher, params, seed input, created.</param>
/// <param name="Quality">Ordered label/value pairs: verified, verifier, score, tokens, cost, latency, privileged context.</param>
/// <param name="ToolNames">Names of the tools offered to the teacher (from the tools JSON).</param>
public sealed record SampleView(
    string Id,
    string Kind,
    string? RejectReason,
    IReadOnlyList<TurnView> Turns,
    string? Answer,
    string? Rationale,
    IReadOnlyList<KeyValuePair<string, string>> Lineage,
    IReadOnlyList<KeyValuePair<string, string>> Quality,
    IReadOnlyList<string> ToolNames,
    LogprobSummary? Logprobs);

/// <summary>Builds the view <c>distill dataset inspect</c> renders, and a plain-text rendering for logs and tests.</summary>
public static class SampleText
{
    public static SampleView ToView(Sample s, string? rejectReason = null)
    {
        var calls = new Dictionary<string, ToolCallView>(StringComparer.Ordinal);
        var turns = new List<TurnView>(s.Messages.Count);
        for (int i = 0; i < s.Messages.Count; i++)
        {
            var m = s.Messages[i];
            var views = m.ToolCalls.Select(c => Call(c)).ToArray();
            foreach (var v in views) calls.TryAdd(v.Id, v);
            ToolCallView? answers = m.ToolCallId is not null && calls.TryGetValue(m.ToolCallId, out var a) ? a : null;
            turns.Add(new TurnView(i, m.Role, m.Content, m.Reasoning, views, m.ToolCallId, m.Name, answers, LogprobSummary.Of([m.Logprobs])));
        }

        var inv = CultureInfo.InvariantCulture;
        var lineage = new List<KeyValuePair<string, string>>();
        void L(string k, string? v) { if (!string.IsNullOrEmpty(v)) lineage.Add(new(k, v)); }
        L("template", s.TemplateId is null ? null : $"{s.TemplateId} @ {s.TemplateVersion ?? "?"}");
        L("recipe", s.Recipe);
        L("teacher", s.Teacher is null ? null
            : $"{s.Teacher.Provider} / {s.Teacher.Model}{(s.Teacher.TokenizerId is null ? "" : $" (tokenizer {s.Teacher.TokenizerId})")}");
        L("params", s.Params is null ? null : string.Join(", ", new[]
        {
            s.Params.Temperature is { } t ? $"temperature={t.ToString(inv)}" : null,
            s.Params.TopP is { } p ? $"top_p={p.ToString(inv)}" : null,
            s.Params.Seed is { } seed ? $"seed={seed.ToString(inv)}" : null,
            s.Params.MaxTokens is { } mt ? $"max_tokens={mt.ToString(inv)}" : null,
        }.Where(x => x is not null)));
        L("seed input", s.SeedInput);
        L("created", s.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", inv));

        var quality = new List<KeyValuePair<string, string>>
        {
            new("verified", s.Verified switch { true => "yes", false => "no", null => "not run" }),
        };
        if (s.Verifier is not null) quality.Add(new("verifier", s.Verifier));
        if (s.Score is { } score) quality.Add(new("score", score.ToString("0.###", inv)));
        quality.Add(new("tokens", $"{s.PromptTokens.ToString(inv)} prompt + {s.CompletionTokens.ToString(inv)} completion"));
        quality.Add(new("cost", "$" + s.CostUsd.ToString("0.######", inv)));
        quality.Add(new("latency", s.LatencyMs.ToString("0", inv) + " ms"));
        if (s.PrivilegedContextUsed) quality.Add(new("privileged context", "yes (the teacher saw context the messages leave out)"));

        var logprobs = LogprobSummary.Of(s.Messages.Where(m => m.Role == ChatRoles.Assistant).Select(m => m.Logprobs).ToArray());

        return new SampleView(s.Id, s.Kind, rejectReason, turns, s.Answer, s.Rationale, lineage, quality, ToolNames(s.Tools), logprobs);
    }

    /// <summary>A plain-text rendering of <see cref="ToView"/> (no colors).</summary>
    public static string Render(SampleView v)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"sample {v.Id}  [{v.Kind}]");
        if (v.RejectReason is not null) sb.Append(CultureInfo.InvariantCulture, $"  REJECTED: {v.RejectReason}");
        sb.AppendLine();
        if (v.ToolNames.Count > 0) sb.AppendLine("tools offered: " + string.Join(", ", v.ToolNames));
        foreach (var t in v.Turns)
        {
            sb.AppendLine();
            sb.Append(CultureInfo.InvariantCulture, $"[{t.Index}] {t.Role}");
            if (t.ToolCallId is not null) sb.Append(CultureInfo.InvariantCulture, $" (result of {t.ToolName ?? "?"} call {t.ToolCallId}{(t.Answers is null ? ", NO MATCHING CALL" : "")})");
            sb.AppendLine();
            if (t.Reasoning is not null) sb.AppendLine("  reasoning: " + Indent(t.Reasoning));
            if (t.Content is not null) sb.AppendLine("  " + Indent(t.Content));
            foreach (var c in t.ToolCalls)
                sb.AppendLine(CultureInfo.InvariantCulture, $"  -> call {c.Name} ({c.Id}){(c.ArgumentsAreValidJson ? "" : " INVALID JSON")}: {Indent(c.Arguments)}");
            if (t.Logprobs is { } turn) sb.AppendLine("  " + Describe(turn));
        }
        if (v.Answer is not null) sb.AppendLine().AppendLine("answer: " + Indent(v.Answer));
        if (v.Rationale is not null) sb.AppendLine("rationale: " + Indent(v.Rationale));
        sb.AppendLine();
        foreach (var (k, val) in v.Lineage.Concat(v.Quality)) sb.AppendLine(CultureInfo.InvariantCulture, $"{k}: {val}");
        if (v.Logprobs is { } lp) sb.AppendLine(Describe(lp));
        return sb.ToString();
    }

    /// <summary>"teacher logprobs: 2 of 3 assistant turns, 40 tokens, top-5, mean -0.12, min -3.4" (the turn count only for several turns).</summary>
    public static string Describe(LogprobSummary lp) => string.Create(CultureInfo.InvariantCulture,
        $"teacher logprobs: {(lp.AssistantTurns > 1 ? $"{lp.Turns} of {lp.AssistantTurns} assistant turns, " : "")}{lp.Tokens} tokens, top-{lp.TopK}, mean {lp.MeanLogprob:0.###}, min {lp.MinLogprob:0.###}");

    public static string Render(Sample s, string? rejectReason = null) => Render(ToView(s, rejectReason));

    private static ToolCallView Call(ToolCall c)
    {
        try
        {
            using var doc = JsonDocument.Parse(c.Arguments);
            return new ToolCallView(c.Id, c.Name, JsonSerializer.Serialize(doc.RootElement, Indented), true);
        }
        catch (JsonException)
        {
            return new ToolCallView(c.Id, c.Name, c.Arguments, false);
        }
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private static IReadOnlyList<string> ToolNames(string? tools)
    {
        if (tools is null) return [];
        try
        {
            using var doc = JsonDocument.Parse(tools);
            if (doc.RootElement.ValueKind != JsonValueKind.Array) return [];
            return doc.RootElement.EnumerateArray()
                .Select(t => t.ValueKind == JsonValueKind.Object && t.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object
                             && f.TryGetProperty("name", out var n) ? n.GetString() : null)
                .OfType<string>().ToArray();
        }
        catch (JsonException)
        {
            return [];
        }
    }

    private static string Indent(string text) => text.Replace("\n", "\n    ", StringComparison.Ordinal);
}
