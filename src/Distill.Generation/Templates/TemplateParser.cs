using System.Text.RegularExpressions;
using Microsoft.SemanticKernel;

namespace Distill.Generation.Templates;

/// <summary>
/// Parses and checks one template file. Every problem found is reported (not only the first), each with its file line.
/// </summary>
internal static partial class TemplateParser
{
    /// <summary>Renders values verbatim: Semantic Kernel would otherwise HTML-encode them (&amp;lt; for &lt;).</summary>
    internal static readonly KernelPromptTemplateFactory Factory = new() { AllowDangerouslySetContent = true };

    [GeneratedRegex(@"^##[ \t]+(?<name>(?:student[ \t]+)?(?:system|user))[ \t]*$", RegexOptions.IgnoreCase)]
    private static partial Regex SectionMarker();

    [GeneratedRegex(@"[ \t]+")]
    private static partial Regex Blanks();

    private sealed record Usage(string Variable, string Section, int Line);

    public static TemplateDefinition? Parse(string file, string rawText, List<TemplateProblem> problems)
    {
        var start = problems.Count;
        var text = TemplateVersion.Normalize(rawText);
        var lines = text.Split('\n');

        if (lines[0].TrimEnd() != "---")
        {
            problems.Add(new(file, 1, "template must start with a '---' line opening the YAML front matter"));
            return null;
        }

        var close = Array.FindIndex(lines, 1, l => l.TrimEnd() == "---");
        if (close < 0)
        {
            problems.Add(new(file, 1, "front matter is never closed: add a '---' line after it"));
            return null;
        }

        var yaml = string.Join('\n', lines[1..close]);
        var front = FrontMatterReader.Read(file, yaml, firstLine: 2, markerLine: 1, problems);

        // Body: file lines close+2 .. end (1-based).
        var sections = ReadSections(file, lines, close + 1, problems);
        var usages = new List<Usage>();
        var compiled = new List<TemplateSection>();
        foreach (var section in sections)
        {
            compiled.Add(ScanAndCompile(file, section, usages, problems));
        }

        if (front is not null)
        {
            CheckVariables(file, front, compiled, usages, problems);
            var stem = Path.GetFileName(file);
            stem = stem.EndsWith(TemplateLinter.FileExtension, StringComparison.Ordinal) ? stem[..^TemplateLinter.FileExtension.Length] : stem;
            if (front.Id is { } id && id != stem)
            {
                problems.Add(new(file, front.IdLine, $"id '{id}' must equal the file name '{stem}' (templates live in <id>{TemplateLinter.FileExtension})"));
            }
        }

        if (problems.Count > start || front is null)
        {
            // Report in file order (front-matter checks finish before the body is read).
            var found = problems.Skip(start).OrderBy(p => p.Line).ToList();
            problems.RemoveRange(start, found.Count);
            problems.AddRange(found);
            return null;
        }

        return new TemplateDefinition
        {
            Id = front.Id!,
            IdLine = front.IdLine,
            Description = front.Description!,
            Recipe = front.Recipe!,
            FilePath = file,
            Version = TemplateVersion.Compute(text),
            Variables = front.Variables,
            Parameters = front.Parameters,
            Output = front.Output!,
            Privileged = front.Privileged.Select(p => p.Name).ToList(),
            Sections = compiled,
        };
    }

    /// <summary>Splits the body into sections at <c>## system</c>, <c>## user</c>, <c>## student system</c>, <c>## student user</c>.</summary>
    private static List<TemplateSection> ReadSections(string file, string[] lines, int bodyStart, List<TemplateProblem> problems)
    {
        var sections = new List<TemplateSection>();
        string? name = null;
        var nameLine = 0;
        var content = new List<string>();

        void Flush()
        {
            if (string.IsNullOrEmpty(name))
            {
                return;
            }

            // Leading blank lines are dropped; keep the line count so blocks map to file lines.
            var firstText = content.FindIndex(l => l.Trim().Length > 0);
            var body = firstText < 0 ? "" : string.Join('\n', content.Skip(firstText)).TrimEnd();
            if (body.Length == 0)
            {
                problems.Add(new(file, nameLine, $"section '## {name}' is empty"));
            }

            var duplicate = sections.FirstOrDefault(s => s.Name == name);
            if (duplicate is not null)
            {
                problems.Add(new(file, nameLine, $"section '## {name}' appears twice (first at line {duplicate.Line})"));
            }

            var textLine = nameLine + 1 + Math.Max(firstText, 0);
            sections.Add(new TemplateSection(name, body, nameLine) { Compiled = null, TextLine = textLine });
        }

        for (var i = bodyStart; i < lines.Length; i++)
        {
            var match = SectionMarker().Match(lines[i].TrimEnd());
            if (match.Success)
            {
                Flush();
                name = Blanks().Replace(match.Groups["name"].Value.ToLowerInvariant(), " ");
                nameLine = i + 1;
                content.Clear();
            }
            else if (name is null)
            {
                if (lines[i].Trim().Length > 0)
                {
                    problems.Add(new(file, i + 1, "text before the first section: start the body with '## system' or '## user'"));
                    name = "";
                }
            }
            else if (name.Length > 0)
            {
                content.Add(lines[i]);
            }
        }

        Flush();
        if (!sections.Any(s => s.Name == TemplateSections.User))
        {
            problems.Add(new(file, Math.Min(bodyStart + 1, lines.Length), "template has no '## user' section"));
        }

        return sections;
    }

    /// <summary>
    /// Finds every <c>{{ ... }}</c> block, records variable uses with their file line, rejects what Distill templates
    /// do not support (function calls, unclosed blocks), then lets Semantic Kernel compile the section.
    /// </summary>
    private static TemplateSection ScanAndCompile(string file, TemplateSection section, List<Usage> usages, List<TemplateProblem> problems)
    {
        var text = section.Text;
        var before = problems.Count;
        int LineAt(int offset) => section.TextLine + text.AsSpan(0, offset).Count('\n');

        var i = 0;
        while ((i = text.IndexOf("{{", i, StringComparison.Ordinal)) >= 0)
        {
            var close = -1;
            char? quote = null;
            for (var j = i + 2; j < text.Length; j++)
            {
                var c = text[j];
                if (quote is not null)
                {
                    if (c == '\\')
                    {
                        j++;
                    }
                    else if (c == quote)
                    {
                        quote = null;
                    }
                }
                else if (c is '\'' or '"')
                {
                    quote = c;
                }
                else if (c == '}' && j + 1 < text.Length && text[j + 1] == '}')
                {
                    close = j;
                    break;
                }
            }

            if (close < 0)
            {
                problems.Add(new(file, LineAt(i), quote is null
                    ? "'{{' is never closed with '}}'"
                    : "unterminated string literal inside '{{ }}'"));
                break;
            }

            var block = text[(i + 2)..close].Trim();
            var line = LineAt(i);
            if (block.Length == 0)
            {
                problems.Add(new(file, line, "empty '{{ }}' block"));
            }
            else if (block[0] == '$')
            {
                var name = block[1..];
                if (name.Length == 0)
                {
                    problems.Add(new(file, line, "'{{$}}' has no variable name"));
                }
                else if (name.Any(char.IsWhiteSpace))
                {
                    problems.Add(new(file, line, $"'{{{{{block}}}}}' holds more than one token; a block holds one variable: '{{{{$name}}}}'"));
                }
                else if (!FrontMatterReader.VariableNamePattern().IsMatch(name))
                {
                    problems.Add(new(file, line, $"variable name '{name}' must be letters, digits and '_'"));
                }
                else
                {
                    usages.Add(new Usage(name, section.Name, line));
                }
            }
            else if (block[0] is not ('\'' or '"') || block.Length < 2 || block[^1] != block[0])
            {
                problems.Add(new(file, line,
                    $"'{{{{{block}}}}}' is a function call; Distill templates render offline with no plugins: pass the value in a variable"));
            }

            i = close + 2;
        }

        if (problems.Count > before)
        {
            return section;
        }

        try
        {
            var config = new PromptTemplateConfig(text) { AllowDangerouslySetContent = true };
            return section with { Compiled = Factory.Create(config) };
        }
        catch (Exception e) when (e is KernelException or ArgumentException)
        {
            problems.Add(new(file, section.Line, $"Semantic Kernel rejects section '## {section.Name}': {e.Message}"));
            return section;
        }
    }

    private static void CheckVariables(
        string file, FrontMatter front, List<TemplateSection> sections, List<Usage> usages, List<TemplateProblem> problems)
    {
        var declared = front.Variables.ToDictionary(v => v.Name);
        foreach (var use in usages.GroupBy(u => u.Variable).Where(g => !declared.ContainsKey(g.Key)))
        {
            var first = use.First();
            problems.Add(new(file, first.Line, $"variable '{first.Variable}' is used but not declared under 'variables'"));
        }

        var used = usages.Select(u => u.Variable).ToHashSet();
        foreach (var v in front.Variables.Where(v => !used.Contains(v.Name)))
        {
            problems.Add(new(file, v.Line, $"variable '{v.Name}' is declared but never used in the body"));
        }

        var privileged = new HashSet<string>();
        foreach (var (name, line) in front.Privileged)
        {
            if (!declared.ContainsKey(name))
            {
                problems.Add(new(file, line, $"privileged variable '{name}' is not declared under 'variables'"));
            }
            else if (!privileged.Add(name))
            {
                problems.Add(new(file, line, $"privileged variable '{name}' is listed twice"));
            }
        }

        var sectionNames = sections.Select(s => s.Name).ToHashSet();
        foreach (var use in usages.Where(u => privileged.Contains(u.Variable)))
        {
            if (TemplateSections.IsStudent(use.Section))
            {
                problems.Add(new(file, use.Line,
                    $"privileged variable '{use.Variable}' is used in '## {use.Section}', which the student sees"));
            }
            else if (!sectionNames.Contains("student " + use.Section))
            {
                problems.Add(new(file, use.Line,
                    $"privileged variable '{use.Variable}' is used in '## {use.Section}' but there is no '## student {use.Section}' " +
                    "section; add one with what the stored, student-facing message should say"));
            }
        }
    }
}
