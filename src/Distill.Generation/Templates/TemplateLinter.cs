namespace Distill.Generation.Templates;

/// <summary>The result of linting a folder: the templates that parsed cleanly and every problem found.</summary>
public sealed record TemplateLintResult(IReadOnlyList<TemplateDefinition> Templates, IReadOnlyList<TemplateProblem> Problems)
{
    public bool IsClean => Problems.Count == 0;
}

/// <summary>
/// Checks templates (<c>distill templates lint</c>): YAML errors, missing or unknown front-matter fields, unknown recipe,
/// variables used but not declared or declared but unused, the output contract, Semantic Kernel syntax, privileged
/// variables, and duplicate ids. Returns all problems, each with file, line and message.
/// </summary>
public static class TemplateLinter
{
    /// <summary>Template files are <c>&lt;id&gt;.prompt</c>, in the folder or any subfolder.</summary>
    public const string FileExtension = ".prompt";

    public static TemplateLintResult LintFolder(string folder)
    {
        if (!Directory.Exists(folder))
        {
            throw new Core.Errors.DistillException(
                $"prompt template folder '{folder}' does not exist",
                "create it or point Paths:Prompts at the folder holding the *.prompt files");
        }

        var files = Directory.EnumerateFiles(folder, "*" + FileExtension, SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .ToList();
        var problems = new List<TemplateProblem>();
        var templates = new List<TemplateDefinition>();
        var byId = new Dictionary<string, TemplateDefinition>(StringComparer.OrdinalIgnoreCase);
        foreach (var file in files)
        {
            if (TemplateParser.Parse(file, TemplateVersion.Decode(File.ReadAllBytes(file)), problems) is not { } template)
            {
                continue;
            }

            if (byId.TryGetValue(template.Id, out var first))
            {
                problems.Add(new(file, template.IdLine, $"duplicate template id '{template.Id}': also defined in {first.FilePath}"));
                continue;
            }

            byId.Add(template.Id, template);
            templates.Add(template);
        }

        return new TemplateLintResult(templates, problems);
    }

    /// <summary>Lints one file on its own (no duplicate-id check).</summary>
    public static IReadOnlyList<TemplateProblem> LintFile(string path) =>
        LintText(path, TemplateVersion.Decode(File.ReadAllBytes(path)));

    /// <summary>Lints template text as if it were the file <paramref name="path"/>.</summary>
    public static IReadOnlyList<TemplateProblem> LintText(string path, string text)
    {
        var problems = new List<TemplateProblem>();
        TemplateParser.Parse(path, text, problems);
        return problems;
    }

    /// <summary>Parses template text; throws <see cref="TemplateLintException"/> listing its problems when it is broken.</summary>
    public static TemplateDefinition ParseText(string path, string text)
    {
        var problems = new List<TemplateProblem>();
        return TemplateParser.Parse(path, text, problems) ?? throw new TemplateLintException(path, problems);
    }
}
