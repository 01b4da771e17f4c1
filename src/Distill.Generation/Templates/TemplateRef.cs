using Distill.Core.Errors;

namespace Distill.Generation.Templates;

/// <summary>A template version as people type it: <c>id@version</c> (the version may be shortened to a unique prefix).</summary>
public sealed record TemplateRef(string Id, string Version)
{
    public override string ToString() => $"{Id}@{Version}";

    public static TemplateRef Parse(string text)
    {
        var at = text.LastIndexOf('@');
        if (at <= 0 || at == text.Length - 1)
            throw new DistillException($"'{text}' is not id@version", "e.g. world-agent@3f2a9c1b7e04 (`distill templates list` shows versions; `templates stats` every version that made data)");
        return new TemplateRef(text[..at], text[(at + 1)..]);
    }

    /// <summary>
    /// The text of this version: archived in one of <paramref name="datasetDirs"/>, or the current file in
    /// <paramref name="library"/> when it is that version. A shortened version resolves when exactly one known version starts with it.
    /// </summary>
    public (string Version, string Text) Resolve(IReadOnlyList<string> datasetDirs, TemplateLibrary? library)
    {
        var current = library is not null && library.TryGet(Id, out var t) ? t : null;
        var known = TemplateArchive.Versions(datasetDirs, Id).Concat(current is null ? [] : [current.Version]).Distinct(StringComparer.Ordinal).ToList();
        var matches = known.Where(v => v.StartsWith(Version, StringComparison.Ordinal)).ToList();
        if (matches.Count > 1)
            throw new DistillException($"'{this}' matches {matches.Count} versions ({string.Join(", ", matches)})", "type more of the version");
        var version = matches.Count == 1 ? matches[0] : Version;
        if (current is not null && current.Version == version) return (version, TemplateVersion.Normalize(TemplateVersion.Decode(File.ReadAllBytes(current.FilePath))));
        return TemplateArchive.Find(datasetDirs, Id, version) is { } text
            ? (version, text)
            : throw new DistillException(
                $"the text of {Id}@{version} is neither in {(library?.Folder ?? "the prompts folder")} nor archived in the {datasetDirs.Count} dataset(s) searched (known versions: {(known.Count == 0 ? "none" : string.Join(", ", known))})",
                "pass --data <the dataset folder it generated>; datasets generated before templates were archived do not hold the text");
    }
}
