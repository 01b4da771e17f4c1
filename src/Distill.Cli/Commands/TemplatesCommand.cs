using System.CommandLine;
using Distill.Generation.Templates;
using Spectre.Console;

namespace Distill.Cli.Commands;

/// <summary>`distill templates list|lint`: the prompt templates in Paths:Prompts.</summary>
public static class TemplatesCommand
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var list = new Command("list", "List the templates: id, recipe, version, description.");
        list.SetAction(parse =>
        {
            var cli = context(parse);
            var library = TemplateLibrary.LoadAndLint(cli.Options.Paths.Prompts);
            var table = new Table().AddColumn("id").AddColumn("recipe").AddColumn("version").AddColumn("description");
            foreach (var t in library.Templates) table.AddRow(Markup.Escape(t.Id), Markup.Escape(t.Recipe), Markup.Escape(t.Version), Markup.Escape(t.Description));
            cli.Console.Write(table);
            return DistillApp.Success;
        });
        var lint = new Command("lint", "Check every template; lists file:line: problem for each one (exit 1 when any).");
        lint.SetAction(parse =>
        {
            var cli = context(parse);
            var library = TemplateLibrary.LoadAndLint(cli.Options.Paths.Prompts);
            cli.Console.WriteLine($"{library.Templates.Count} templates in {library.Folder}: ok");
            return DistillApp.Success;
        });
        return new Command("templates", "Prompt templates: list them, lint them.") { list, lint };
    }
}
