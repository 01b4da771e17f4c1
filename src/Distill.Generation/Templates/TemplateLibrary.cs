using System.Diagnostics.CodeAnalysis;
using Distill.Core.Errors;

namespace Distill.Generation.Templates;

/// <summary>All templates of a folder, by id. Load it at start-up so a broken template fails before any paid call.</summary>
public sealed class TemplateLibrary
{
    private readonly Dictionary<string, TemplateDefinition> _byId;

    public TemplateLibrary(string folder, IEnumerable<TemplateDefinition> templates)
    {
        Folder = folder;
        Templates = templates.OrderBy(t => t.Id, StringComparer.Ordinal).ToList();
        _byId = new Dictionary<string, TemplateDefinition>(StringComparer.Ordinal);
        foreach (var t in Templates)
        {
            if (!_byId.TryAdd(t.Id, t))
            {
                throw new DistillException(
                    $"{t.FilePath}: duplicate template id '{t.Id}': also defined in {_byId[t.Id].FilePath}",
                    "give each template a unique id");
            }
        }
    }

    public string Folder { get; }

    /// <summary>Sorted by id.</summary>
    public IReadOnlyList<TemplateDefinition> Templates { get; }

    /// <summary>
    /// Loads every <c>*.prompt</c> under <paramref name="folder"/> and lints it.
    /// Throws <see cref="TemplateLintException"/> (a <see cref="DistillException"/>) listing file:line: message for every
    /// problem when any template is broken, or a <see cref="DistillException"/> when the folder does not exist.
    /// </summary>
    public static TemplateLibrary LoadAndLint(string folder)
    {
        var result = TemplateLinter.LintFolder(folder);
        return result.IsClean
            ? new TemplateLibrary(folder, result.Templates)
            : throw new TemplateLintException(folder, result.Problems);
    }

    public bool TryGet(string id, [NotNullWhen(true)] out TemplateDefinition? template) => _byId.TryGetValue(id, out template);

    /// <summary>The template with this id; a <see cref="DistillException"/> listing the known ids when there is none.</summary>
    public TemplateDefinition Get(string id) =>
        TryGet(id, out var template)
            ? template
            : throw new DistillException(
                $"no template '{id}' in {Folder} (known: {(Templates.Count == 0 ? "none" : string.Join(", ", _byId.Keys.Order(StringComparer.Ordinal)))})",
                $"add {Path.Combine(Folder, id + TemplateLinter.FileExtension)} or use one of the known ids");
}
