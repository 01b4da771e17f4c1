using System.Globalization;
using System.Text.Json;

namespace Distill.Data.Storage;

/// <summary>
/// The token texts of one compact shard, by token id: a token whose id is known stores only the id, and its text is looked up
/// here. The first text seen for an id is the one kept; a token whose text differs from it (two tokenizers in one shard, or a
/// teacher that decodes one id two ways) stores its own text, so nothing is lost either way. Saved in the file's key-value
/// metadata as a JSON object <c>{"id": "text", ...}</c> (<see cref="CompactSchema.VocabularyKey"/>).
/// </summary>
public sealed class TokenVocabulary
{
    private readonly Dictionary<int, string> _texts = [];

    /// <summary>Distinct ids held.</summary>
    public int Count => _texts.Count;

    /// <summary>
    /// The text to store for a token: null when <paramref name="id"/> is known and the vocabulary holds (or now learns) this very
    /// text for it; otherwise <paramref name="text"/> itself.
    /// </summary>
    public string? TextToStore(int? id, string text)
    {
        if (id is not { } known) return text;
        // One hash lookup for both cases: this runs for every token and alternative written.
        ref string? kept = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_texts, known, out bool exists);
        if (!exists)
        {
            kept = text;
            return null;
        }
        return string.Equals(kept, text, StringComparison.Ordinal) ? null : text;
    }

    /// <summary>The text of a stored token: its own text when one was stored, else the vocabulary's text for its id.</summary>
    public string TextOf(int? id, string? stored)
    {
        if (stored is not null) return stored;
        if (id is { } known && _texts.TryGetValue(known, out var text)) return text;
        throw new InvalidDataException(id is null
            ? "a token has neither an id nor a text"
            : $"token id {id} has no stored text and is not in the file's token vocabulary");
    }

    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            foreach (var (id, text) in _texts) w.WriteString(id.ToString(CultureInfo.InvariantCulture), text);
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    public static TokenVocabulary FromJson(string? json)
    {
        var vocabulary = new TokenVocabulary();
        if (string.IsNullOrEmpty(json)) return vocabulary;
        using var doc = JsonDocument.Parse(json);
        foreach (var p in doc.RootElement.EnumerateObject())
            // Interned per file: every occurrence of a token shares one string instance.
            vocabulary._texts[int.Parse(p.Name, CultureInfo.InvariantCulture)] = p.Value.GetString() ?? "";
        return vocabulary;
    }
}
