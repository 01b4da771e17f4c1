using Distill.Core.Errors;

namespace Distill.Generation.Templates;

/// <summary>One lint finding: the file, the 1-based file line and what is wrong.</summary>
public sealed record TemplateProblem(string File, int Line, string Message)
{
    public override string ToString() => $"{File}:{Line}: {Message}";
}

/// <summary>Thrown at start-up when any template is broken, before any paid call; lists every problem.</summary>
public sealed class TemplateLintException : DistillException
{
    private const int MaxListed = 20;

    public TemplateLintException(string folder, IReadOnlyList<TemplateProblem> problems)
        : base(Summarize(folder, problems), "fix the templates above; `distill templates lint` lists every problem")
        => Problems = problems;

    public IReadOnlyList<TemplateProblem> Problems { get; }

    private static string Summarize(string folder, IReadOnlyList<TemplateProblem> problems)
    {
        var files = problems.Select(p => p.File).Distinct().Count();
        var lines = problems.Take(MaxListed).Select(p => "  " + p);
        var more = problems.Count > MaxListed ? [$"  ... and {problems.Count - MaxListed} more"] : Array.Empty<string>();
        return string.Join('\n',
            [$"{problems.Count} template problem(s) in {files} file(s) under {folder}:", .. lines, .. more]);
    }
}
