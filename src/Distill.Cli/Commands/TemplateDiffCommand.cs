using System.CommandLine;
using Distill.Data;
using Distill.Generation.Templates;
using Spectre.Console;

namespace Distill.Cli.Commands;

/// <summary>`distill templates diff ID@V1 ID@V2 [--data DIR ...]`: what changed between two versions, from the datasets that used them.</summary>
public static class TemplateDiffCommand
{
    /// <summary>Unchanged lines shown around each change; longer unchanged runs are folded.</summary>
    public const int Context = 3;

    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var before = new Argument<string>("before") { Description = "The older version: id@version (a unique prefix of the version is enough)." };
        var after = new Argument<string>("after") { Description = "The newer version: id@version." };
        var data = new Option<string[]>("--data") { Description = "Datasets (or folders holding them) whose archived templates are searched (repeatable; default Paths:Datasets)." };
        var command = new Command("diff", "Line diff of two template versions; their text comes from the datasets they generated, or from prompts/ for the current version.")
        {
            before, after, data,
        };
        command.SetAction(parse =>
        {
            var cli = context(parse);
            var datasets = DatasetFolders.Find(parse.GetValue(data) is { Length: > 0 } d ? d : ExistingOrNone(cli.Options.Paths.Datasets), includeEvaluations: true);
            var prompts = cli.Options.Paths.PromptsFolder();
            var library = Directory.Exists(prompts) ? TemplateLibrary.LoadAndLint(prompts) : null;
            var a = TemplateRef.Parse(parse.GetValue(before)!);
            var b = TemplateRef.Parse(parse.GetValue(after)!);
            var (va, ta) = a.Resolve(datasets, library);
            var (vb, tb) = b.Resolve(datasets, library);
            var lines = LineDiff.Compute(LineDiff.Lines(ta), LineDiff.Lines(tb));
            cli.Console.MarkupLineInterpolated($"[red]--- {a.Id}@{va}[/]");
            cli.Console.MarkupLineInterpolated($"[green]+++ {b.Id}@{vb}[/]");
            Print(cli.Console, lines);
            var removed = lines.Count(l => l.Kind == DiffKind.Removed);
            var added = lines.Count(l => l.Kind == DiffKind.Added);
            cli.Console.WriteLine(removed + added == 0 ? "identical" : $"{removed} line(s) removed, {added} added");
            return DistillApp.Success;
        });
        return command;
    }

    private static string[] ExistingOrNone(string path) => Directory.Exists(path) ? [path] : [];

    private static void Print(IAnsiConsole console, IReadOnlyList<DiffLine> lines)
    {
        var changed = lines.Select((l, i) => (l, i)).Where(x => x.l.Kind != DiffKind.Same).Select(x => x.i).ToList();
        bool Near(int i) => changed.Any(c => Math.Abs(c - i) <= Context);
        var folded = 0;
        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i];
            if (line.Kind == DiffKind.Same && !Near(i))
            {
                folded++;
                continue;
            }
            if (folded > 0) console.MarkupLineInterpolated($"[grey]@@ {folded} unchanged line(s) @@[/]");
            folded = 0;
            switch (line.Kind)
            {
                case DiffKind.Removed: console.MarkupLineInterpolated($"[red]-{line.Text}[/]"); break;
                case DiffKind.Added: console.MarkupLineInterpolated($"[green]+{line.Text}[/]"); break;
                default: console.WriteLine(" " + line.Text); break;
            }
        }
        if (folded > 0) console.MarkupLineInterpolated($"[grey]@@ {folded} unchanged line(s) @@[/]");
    }
}
