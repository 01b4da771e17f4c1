using Distill.Core.Errors;

namespace Distill.Generation.Templates;

/// <summary>
/// The text of every template version that produced a dataset, kept in the dataset folder once per version
/// (<c>templates/&lt;id&gt;@&lt;version&gt;.prompt</c>, the normalized file whose hash is the version), not per row; so a version
/// stays readable (<c>distill templates diff</c>, <c>compare</c>) after its file in <c>prompts/</c> has changed.
/// </summary>
public static class TemplateArchive
{
    public const string Folder = "templates";

    /// <summary>The archive file name of a version; characters that cannot be in a file name are escaped.</summary>
    public static string FileName(string id, string version) => $"{Uri.EscapeDataString(id)}@{Uri.EscapeDataString(version)}{TemplateLinter.FileExtension}";

    /// <summary>
    /// Archives <paramref name="template"/>'s file into <paramref name="datasetDir"/> (nothing to do when that version is there).
    /// Refuses when the file changed since the template was loaded: the rows would name a version whose text was not kept.
    /// </summary>
    /// <returns>The archive file's path.</returns>
    public static string Store(string datasetDir, TemplateDefinition template)
    {
        var path = Path.Combine(datasetDir, Folder, FileName(template.Id, template.Version));
        if (File.Exists(path)) return path;
        var text = TemplateVersion.Normalize(TemplateVersion.Decode(File.ReadAllBytes(template.FilePath)));
        if (TemplateVersion.Compute(text) != template.Version)
            throw new DistillException($"{template.FilePath} changed while the run was starting (version {template.Version} was loaded)",
                "run the command again: it loads the template as it is now");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + ".tmp";
        File.WriteAllText(temp, text);
        File.Move(temp, path, overwrite: true);
        return path;
    }

    /// <summary>The archived text of <paramref name="id"/>@<paramref name="version"/> in any of <paramref name="datasetDirs"/>, or null.</summary>
    public static string? Find(IEnumerable<string> datasetDirs, string id, string version)
    {
        foreach (var dir in datasetDirs)
        {
            var path = Path.Combine(dir, Folder, FileName(id, version));
            if (!File.Exists(path)) continue;
            var text = TemplateVersion.Decode(File.ReadAllBytes(path));
            // A hand-edited archive file no longer is that version: skip it rather than show the wrong text.
            if (TemplateVersion.Compute(text) == version) return text;
        }
        return null;
    }

    /// <summary>Versions of <paramref name="id"/> archived in <paramref name="datasetDirs"/>.</summary>
    public static IReadOnlyList<string> Versions(IEnumerable<string> datasetDirs, string id)
    {
        var prefix = Uri.EscapeDataString(id) + "@";
        return datasetDirs.Select(d => Path.Combine(d, Folder)).Where(Directory.Exists)
            .SelectMany(f => Directory.EnumerateFiles(f, "*" + TemplateLinter.FileExtension))
            .Select(Path.GetFileNameWithoutExtension)
            .Where(n => n!.StartsWith(prefix, StringComparison.Ordinal))
            .Select(n => Uri.UnescapeDataString(n![prefix.Length..]))
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
    }
}
