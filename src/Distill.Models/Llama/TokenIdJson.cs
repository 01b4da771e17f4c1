using System.Text.Json;

namespace Distill.Models.Llama;

/// <summary>Hugging Face configs write `eos_token_id` as one id or a list; this reads and writes both forms.</summary>
public static class TokenIdJson
{
    public static IReadOnlyList<long> Read(JsonElement? raw) => raw switch
    {
        { ValueKind: JsonValueKind.Number } e => [e.GetInt64()],
        { ValueKind: JsonValueKind.Array } e => e.EnumerateArray().Select(x => x.GetInt64()).ToList(),
        _ => [],
    };

    public static JsonElement? Write(IReadOnlyList<long> ids) => ids.Count switch
    {
        0 => null,
        1 => JsonSerializer.SerializeToElement(ids[0]),
        _ => JsonSerializer.SerializeToElement(ids),
    };
}
