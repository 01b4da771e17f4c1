namespace Distill.Core.Tests.Architecture;

/// <summary>
/// The project graph of README.md's "Architecture" section, enforced: a project that references one it should not (the
/// server or the pipeline reaching the demo world, anything reaching the CLI, Core reaching anything) fails here.
/// </summary>
public sealed class ProjectReferenceTests
{
    private const string ArchitectureHeading = "## Architecture";

    /// <summary>
    /// What each project may reach, directly or through others. Dependencies point down the flow (design.md): Core knows
    /// nothing of ours; the world is a plugin only the CLI wires in; the benchmarks time the stages, never the world; the
    /// CLI, the composition root, may reach everything and nothing reaches it.
    /// </summary>
    private static readonly Dictionary<string, string[]> MayReach = new()
    {
        ["Core"] = [],
        ["Data"] = ["Core"],
        ["Teachers"] = ["Core"],
        ["Models"] = ["Core"],
        ["Generation"] = ["Core", "Data", "Teachers"],
        ["Training"] = ["Core", "Data", "Models"],
        ["Evaluation"] = ["Core", "Data", "Teachers", "Generation"],
        ["Server"] = ["Core", "Models"],
        ["World"] = ["Core", "Data", "Teachers", "Generation"],
        ["Bench"] = ["Core", "Data", "Teachers", "Models", "Generation", "Training", "Evaluation", "Server"],
        ["Studio"] = ["Core", "Data", "Teachers", "Generation", "Evaluation"],
        ["Cli"] = ["Core", "Data", "Teachers", "Models", "Generation", "Training", "Evaluation", "Server", "World", "Bench", "Studio"],
    };

    private static readonly string Root = ProjectGraph.RepositoryRoot();

    /// <summary>Each reference the allowed graph forbids, as "From reaches To".</summary>
    private static List<string> Violations(ProjectGraph graph) =>
        graph.Projects
            .Where(MayReach.ContainsKey)
            .SelectMany(p => graph.Reachable(p).Where(r => !MayReach[p].Contains(r)).Select(r => $"{p} reaches {r}"))
            .Order(StringComparer.Ordinal)
            .ToList();

    private static ProjectGraph Graph(params (string From, string[] To)[] edges) =>
        new(edges.ToDictionary(e => e.From, e => (IReadOnlySet<string>)e.To.ToHashSet()));

    [Fact]
    public void Every_source_project_reaches_only_what_the_architecture_allows()
    {
        var violations = Violations(ProjectGraph.FromSources(Root));

        Assert.True(violations.Count == 0,
            $"project references the architecture forbids:\n{string.Join('\n', violations)}\n" +
            "move the code to a project that may use it, or, if the design changed, update MayReach and the README diagram");
    }

    [Fact]
    public void Every_source_project_has_a_place_in_the_allowed_graph()
    {
        var unplaced = ProjectGraph.FromSources(Root).Projects.Where(p => !MayReach.ContainsKey(p)).ToList();

        Assert.True(unplaced.Count == 0,
            $"projects with no entry in MayReach: {string.Join(", ", unplaced)}; say what each may reference, and draw it in the README");
    }

    [Fact]
    public void Readme_diagram_shows_what_the_project_files_reference()
    {
        var code = ProjectGraph.FromSources(Root);
        var diagram = ProjectGraph.FromMermaid(File.ReadAllText(Path.Combine(Root, "README.md")), ArchitectureHeading);

        // Reachability, not edges: the diagram leaves out references implied by others (Cli --> Core through Data).
        var differences = code.Projects.Union(diagram.Projects).Order(StringComparer.Ordinal)
            .Select(p => (Project: p, Code: code.Reachable(p), Diagram: diagram.Reachable(p)))
            .Where(d => !d.Code.SetEquals(d.Diagram))
            .Select(d => $"{d.Project}: the project files reach [{string.Join(", ", d.Code.Order())}], " +
                         $"the diagram [{string.Join(", ", d.Diagram.Order())}]")
            .ToList();

        Assert.True(differences.Count == 0, $"README.md's architecture diagram is out of step:\n{string.Join('\n', differences)}");
    }

    [Fact]
    public void A_forbidden_reference_is_found_even_through_another_project()
    {
        var graph = Graph(
            ("Server", ["Models", "Evaluation"]),
            ("Evaluation", ["Generation"]),
            ("Generation", ["World"]),
            ("Core", ["Data"]),
            ("Teachers", ["Cli"]));

        Assert.Equal(
            ["Core reaches Data", "Evaluation reaches World", "Generation reaches World", "Server reaches Evaluation",
             "Server reaches Generation", "Server reaches World", "Teachers reaches Cli"],
            Violations(graph));
    }

    [Fact]
    public void Mermaid_edges_are_read_from_the_block_under_the_heading()
    {
        const string markdown = """
            # Title
            ```mermaid
            graph TD
              Ignored --> Block
            ```
            ## Architecture
            ```mermaid
            graph TD
              Cli --> Server
              Server --> Models
              %% a comment
              Models --> Core
            ```
            """;

        var graph = ProjectGraph.FromMermaid(markdown, ArchitectureHeading);

        Assert.Equal(["Core", "Models", "Server"], graph.Reachable("Cli").Order());
        Assert.Empty(graph.Reachable("Ignored"));
    }
}
