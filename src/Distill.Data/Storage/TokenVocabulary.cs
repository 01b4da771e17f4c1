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
    // Every id's text, in the order first seen (the JSON's order), and the same texts indexed by id for ids below
    // DirectIdLimit (every real tokenizer's ids): an array read instead of a hash lookup for each of the ~4,500 tokens and
    // alternatives of a tool-trace row, on writing and on reading.
    private const int DirectIdLimit = 1 << 20;
    private readonly Dictionary<int, string> _texts = [];
    private string?[] _byId = [];

    /// <summary>Distinct ids held.</summary>
    public int Count => _texts.Count;

    /// <summary>
    /// The text to store for a token: null when <paramref name="id"/> is known and the vocabulary holds (or now learns) this very
    /// text for it; otherwise <paramref name="text"/> itself.
    /// </summary>
    public string? TextToStore(int? id, string text)
    {
        if (id is not { } known) return text;
        var kept = Lookup(known);
        if (kept is null)
        {
            Add(known, text);
            return null;
        }
        return string.Equals(kept, text, StringComparison.Ordinal) ? null : text;
    }

    private string? Lookup(int id) =>
        (uint)id < (uint)_byId.Length ? _byId[id] : (uint)id < DirectIdLimit ? null : _texts.GetValueOrDefault(id);

    private void Add(int id, string text)
    {
        _texts[id] = text;
        if ((uint)id >= DirectIdLimit) return;
        if (id >= _byId.Length) Array.Resize(ref _byId, Math.Min(DirectIdLimit, Math.Max(id + 1, _byId.Length * 2)));
        _byId[id] = text;
    }

    /// <summary>The text of a stored token: its own text when one was stored, else the vocabulary's text for its id.</summary>
    public string TextOf(int? id, string? stored)
    {
        if (stored is not null) return stored;
        if (id is { } known && Lookup(known) is { } text) return text;
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
            vocabulary.Add(int.Parse(p.Name, CultureInfo.InvariantCulture), p.Value.GetString() ?? "");
        return vocabulary;
    }
}
