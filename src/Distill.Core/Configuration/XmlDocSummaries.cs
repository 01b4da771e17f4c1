using System.Collections.Concurrent;
using System.Reflection;
using System.Text;
using System.Xml.Linq;

namespace Distill.Core.Configuration;

/// <summary>
/// The <c>&lt;summary&gt;</c> of a type or property as plain text, read from the XML documentation file the compiler writes beside
/// its assembly (GenerateDocumentationFile), so the config schemas describe each key with the words its code comment uses.
/// Null where the assembly has no documentation file or the member no summary.
/// </summary>
public static class XmlDocSummaries
{
    private static readonly ConcurrentDictionary<Assembly, IReadOnlyDictionary<string, string>> Files = new();

    public static string? Of(MemberInfo member)
    {
        var id = member switch
        {
            Type type => $"T:{Name(type)}",
            PropertyInfo property when property.DeclaringType is { } declaring => $"P:{Name(declaring)}.{property.Name}",
            _ => null,
        };
        var assembly = member is Type t ? t.Assembly : member.DeclaringType?.Assembly;
        return id is null || assembly is null ? null : Load(assembly).GetValueOrDefault(id);
    }

    // Nested types are written with '.' in documentation ids, where reflection has '+'.
    private static string Name(Type type) => (type.FullName ?? type.Name).Replace('+', '.');

    private static IReadOnlyDictionary<string, string> Load(Assembly assembly) => Files.GetOrAdd(assembly, a =>
    {
        var path = string.IsNullOrEmpty(a.Location) ? null : Path.ChangeExtension(a.Location, ".xml");
        if (path is null || !File.Exists(path)) return new Dictionary<string, string>();
        return XDocument.Load(path).Descendants("member")
            .Where(m => m.Attribute("name") is not null && m.Element("summary") is not null)
            .ToDictionary(m => m.Attribute("name")!.Value, m => Text(m.Element("summary")!, a), StringComparer.Ordinal);
    });

    /// <summary>
    /// The summary's words with its markup resolved: <c>&lt;c&gt;x&lt;/c&gt;</c> as x, a cref to a constant of
    /// <paramref name="assembly"/> as its quoted value (what a config file holds), any other cref as the member's own name.
    /// </summary>
    public static string Text(XElement summary, Assembly? assembly)
    {
        var text = new StringBuilder();
        Append(summary, text, assembly);
        return string.Join(' ', text.ToString().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
    }

    private static void Append(XElement element, StringBuilder text, Assembly? assembly)
    {
        foreach (var node in element.Nodes())
        {
            switch (node)
            {
                case XText plain:
                    text.Append(plain.Value);
                    break;
                case XElement { Name.LocalName: "see" or "seealso" } see when !see.Nodes().Any():
                    var cref = see.Attribute("cref")?.Value ?? "";
                    text.Append(see.Attribute("langword")?.Value ?? ConstantValue(cref, assembly) ?? ShortName(cref));
                    break;
                case XElement { Name.LocalName: "paramref" or "typeparamref" } reference:
                    text.Append(reference.Attribute("name")?.Value);
                    break;
                case XElement child:
                    Append(child, text, assembly);
                    break;
            }
        }
    }

    // "F:Distill.Teachers.TeacherProviders.AzureOpenAI" -> "\"azure-openai\"" (a const of a top-level type); null otherwise.
    private static string? ConstantValue(string cref, Assembly? assembly)
    {
        var dot = cref.LastIndexOf('.');
        if (assembly is null || !cref.StartsWith("F:", StringComparison.Ordinal) || dot < 2) return null;
        var field = assembly.GetType(cref[2..dot])?.GetField(cref[(dot + 1)..], BindingFlags.Public | BindingFlags.Static);
        return field is { IsLiteral: true } && field.GetRawConstantValue() is { } value ? $"\"{value}\"" : null;
    }

    // "T:Distill.Training.Config.LossKind" -> "LossKind"; "M:A.B.C(System.Int32)" -> "C".
    private static string ShortName(string cref)
    {
        var name = cref.Contains(':') ? cref[(cref.IndexOf(':') + 1)..] : cref;
        if (name.IndexOf('(') is var open and >= 0) name = name[..open];
        return name[(name.LastIndexOf('.') + 1)..];
    }
}
