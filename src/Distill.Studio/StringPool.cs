namespace Distill.Studio;

/// <summary>One shared instance of each distinct string (not thread-safe: one per catalog build).</summary>
public sealed class StringPool
{
    private readonly Dictionary<string, string> _strings = new(StringComparer.Ordinal);

    public string? Get(string? value)
    {
        if (value is null) return null;
        if (_strings.TryGetValue(value, out var shared)) return shared;
        _strings[value] = value;
        return value;
    }
}
