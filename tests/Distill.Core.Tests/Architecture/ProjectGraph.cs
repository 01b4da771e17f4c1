using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Distill.Core.Tests.Architecture;

/// <summary>
/// Which project references which: read from <c>src/*/*.csproj</c>, or from the README's Mermaid diagram. Projects are named
/// without the <c>Distill.</c> prefix ("Core", "Cli"), as the diagram names them.
/// </summary>
public sealed partial class ProjectGraph(IReadOnlyDictionary<string, IReadOnlySet<string>> references)
{
    private const string Prefix = "Distill.";

    /// <summary>Each project's direct references.</summary>
    public IReadOnlyDictionary<string, IReadOnlySet<string>> References { get; } = references;

    public IEnumerable<string> Projects => References.Keys;

    [GeneratedRegex(@"^\s*(?<from>\w+)\s*-->\s*(?<to>\w+)\s*$")]
    private static partial Regex MermaidEdge();

    /// <summary>The repository root: the folder above the test binaries that holds Platform.sln.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Platform.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no Platform.sln above {AppContext.BaseDirectory}: run the tests from the repository");
    }

    /// <summary>The <c>ProjectReference</c>s of every <c>src/*/*.csproj</c>.</summary>
    public static ProjectGraph FromSources(string root)
    {
        var references = new Dictionary<string, IReadOnlySet<string>>();
        foreach (var csproj in Directory.GetFiles(Path.Combine(root, "src"), "*.csproj", SearchOption.AllDirectories))
        {
            var targets = XDocument.Load(csproj).Descendants()
                .Where(e => e.Name.LocalName == "ProjectReference")
                .Select(e => Path.GetFileNameWithoutExtension(e.Attribute("Include")!.Value.Replace('\\', '/')))
                .Select(Short)
                .ToHashSet();
            references[Short(Path.GetFileNameWithoutExtension(csproj))] = targets;
        }

        return new ProjectGraph(references);
    }

    /// <summary>The <c>A --&gt; B</c> edges of the first <c>```mermaid</c> block after <paramref name="heading"/>.</summary>
    public static ProjectGraph FromMermaid(string markdown, string heading)
    {
        var lines = markdown.ReplaceLineEndings("\n").Split('\n');
        var start = Array.FindIndex(lines, l => l.Trim() == heading);
        var open = start < 0 ? -1 : Array.FindIndex(lines, start, l => l.Trim() == "```mermaid");
        if (open < 0)
        {
            throw new InvalidOperationException($"no ```mermaid block after '{heading}'");
        }

        var references = new Dictionary<string, HashSet<string>>();
        for (var i = open + 1; i < lines.Length && lines[i].Trim() != "```"; i++)
        {
            if (MermaidEdge().Match(lines[i]) is { Success: true } edge)
            {
                var from = edge.Groups["from"].Value;
                var to = edge.Groups["to"].Value;
                references.TryAdd(to, []);
                (references.TryGetValue(from, out var set) ? set : references[from] = []).Add(to);
            }
        }

        return new ProjectGraph(references.ToDictionary(kv => kv.Key, kv => (IReadOnlySet<string>)kv.Value));
    }

    /// <summary>Every project <paramref name="project"/> reaches through references, directly or not.</summary>
    public IReadOnlySet<string> Reachable(string project)
    {
        var seen = new HashSet<string>();
        var pending = new Stack<string>(References.GetValueOrDefault(project, new HashSet<string>()));
        while (pending.TryPop(out var next))
        {
            if (seen.Add(next))
            {
                foreach (var further in References.GetValueOrDefault(next, new HashSet<string>()))
                {
                    pending.Push(further);
                }
            }
        }

        return seen;
    }

    private static string Short(string name) => name.StartsWith(Prefix, StringComparison.Ordinal) ? name[Prefix.Length..] : name;
}
