using System.CommandLine;
using Distill.Generation.Templates;
using Spectre.Console;

namespace Distill.Cli.Commands;

/// <summary>`distill templates list|lint|render`: the prompt templates in Paths:Prompts.</summary>
public static class TemplatesCommand
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var list = new Command("list", "List the templates: id, recipe, version, description.");
        list.SetAction(parse =>
        {
            var cli = context(parse);
            var library = TemplateLibrary.LoadAndLint(cli.Options.Paths.PromptsFolder());
            var table = new Table().AddColumn("id").AddColumn("recipe").AddColumn("version").AddColumn("description");
            foreach (var t in library.Templates) table.AddRow(Markup.Escape(t.Id), Markup.Escape(t.Recipe), Markup.Escape(t.Version), Markup.Escape(t.Description));
            cli.Console.Write(table);
            return DistillApp.Success;
        });

        var lint = new Command("lint", "Check every template; lists file:line: problem for each one (exit 1 when any).");
        lint.SetAction(parse =>
        {
            var cli = context(parse);
            var folder = cli.Options.Paths.PromptsFolder();
            var result = TemplateLinter.LintFolder(folder);
            foreach (var problem in result.Problems)
            {
                cli.Console.WriteLine(problem.ToString());
            }
            cli.Console.WriteLine(result.IsClean
                ? $"{result.Templates.Count} templates in {folder}: ok"
                : $"{result.Problems.Count} problem(s) in {folder}");
            return result.IsClean ? DistillApp.Success : DistillApp.UserError;
        });

        var id = new Argument<string>("id") { Description = "The template id." };
        var vars = new Option<string[]>("--vars") { Description = "Variable values as name=value (repeatable).", AllowMultipleArgumentsPerToken = true };
        var render = new Command("render", "Show exactly what the teacher will receive, and the student-facing messages that are stored.") { id, vars };
        render.SetAction(async (parse, cancellationToken) =>
        {
            var cli = context(parse);
            var library = TemplateLibrary.LoadAndLint(cli.Options.Paths.PromptsFolder());
            var values = TemplateVariableArgs.Parse(parse.GetValue(vars) ?? []);
            var rendered = await new TemplateRenderer(library).RenderAsync(parse.GetValue(id)!, values, cancellationToken);
            cli.Console.MarkupLineInterpolated($"[bold]{rendered.TemplateId}[/] version {rendered.TemplateVersion}, recipe {rendered.Recipe}");
            Show(cli.Console, "teacher receives", rendered.TeacherMessages);
            if (rendered.PrivilegedContextUsed)
            {
                Show(cli.Console, "stored for the student (privileged context left out)", rendered.StudentMessages);
            }
            return DistillApp.Success;
        });
        return new Command("templates", "Prompt templates: list, lint and render them; per-version stats, diff and A/B compare.")
        {
            list, lint, render, TemplateStatsCommand.Create(context), TemplateDiffCommand.Create(context), TemplateCompareCommand.Create(context),
        };
    }

    private static void Show(IAnsiConsole console, string title, IReadOnlyList<Distill.Core.Samples.ChatMessage> messages)
    {
        var rows = messages.Select(m => (Spectre.Console.Rendering.IRenderable)new Rows(
            new Markup($"[bold]{Markup.Escape(m.Role)}[/]"), new Text(m.Content ?? ""))).ToList();
        console.Write(new Panel(new Rows(rows)).Header(Markup.Escape(title)).RoundedBorder().Expand());
    }
}
