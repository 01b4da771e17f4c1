using System.Text.Json;

namespace Distill.Teachers;

/// <summary>
/// What a server adds to OpenAI's logprobs format and the SDK does not expose: <c>token_id</c> on each
/// <c>choices[0].logprobs.content[i]</c> entry and its <c>top_logprobs[j]</c> (Distill's <c>serve</c> sends them, so the dataset
/// keeps the teacher's own token ids instead of text that training would have to map back to ids), and
/// <c>choices[0].logprobs.logprobs_mode</c> (vLLM's names: <c>raw_logprobs</c> / <c>raw_logits</c> before temperature and
/// top-p, <c>processed_logprobs</c> / <c>processed_logits</c> after). Servers that send neither read as all null.
/// </summary>
internal sealed class ServerLogprobExtras
{
    private static readonly ServerLogprobExtras None = new([], null);

    private readonly IReadOnlyList<(int? Id, int?[] Top)> _entries;

    private ServerLogprobExtras(IReadOnlyList<(int? Id, int?[] Top)> entries, bool? raw)
    {
        _entries = entries;
        Raw = raw;
    }

    /// <summary>True: the server reports raw logprobs; false: processed ones; null: it did not say.</summary>
    public bool? Raw { get; }

    /// <summary>The id of content token <paramref name="i"/>, when the server sent one.</summary>
    public int? TokenId(int i) => i < _entries.Count ? _entries[i].Id : null;

    /// <summary>The id of alternative <paramref name="j"/> of content token <paramref name="i"/>, when the server sent one.</summary>
    public int? TopTokenId(int i, int j) => i < _entries.Count && j < _entries[i].Top.Length ? _entries[i].Top[j] : null;

    /// <summary>Reads the extras from a chat completion body; a body without them (most servers) is not parsed a second time.</summary>
    public static ServerLogprobExtras Read(ReadOnlyMemory<byte> body)
    {
        if (body.Span.IndexOf("\"token_id\""u8) < 0 && body.Span.IndexOf("\"logprobs_mode\""u8) < 0) return None;
        using var doc = JsonDocument.Parse(body);
        if (!doc.RootElement.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0
            || !choices[0].TryGetProperty("logprobs", out var logprobs) || logprobs.ValueKind != JsonValueKind.Object)
            return None;
        bool? raw = logprobs.TryGetProperty("logprobs_mode", out var mode) && mode.ValueKind == JsonValueKind.String
            ? mode.GetString() switch
            {
                "raw_logprobs" or "raw_logits" => true,
                "processed_logprobs" or "processed_logits" => false,
                _ => null,
            }
            : null;
        var entries = new List<(int?, int?[])>();
        if (logprobs.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array)
        {
            foreach (var entry in content.EnumerateArray())
            {
                var top = entry.TryGetProperty("top_logprobs", out var alternatives) && alternatives.ValueKind == JsonValueKind.Array
                    ? alternatives.EnumerateArray().Select(IdOf).ToArray()
                    : [];
                entries.Add((IdOf(entry), top));
            }
        }
        return new ServerLogprobExtras(entries, raw);
    }

    private static int? IdOf(JsonElement entry) =>
        entry.ValueKind == JsonValueKind.Object && entry.TryGetProperty("token_id", out var id) && id.ValueKind == JsonValueKind.Number
            && id.TryGetInt32(out var value) && value >= 0
            ? value
            : null;
}
