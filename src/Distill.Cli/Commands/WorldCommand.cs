using System.CommandLine;
using System.Text.Json;
using Distill.Cli.Composition;
using Distill.Data;
using Distill.World.Leakage;
using Distill.World.Store;
using Spectre.Console;

namespace Distill.Cli.Commands;

/// <summary>`distill world check`: held-out leakage into training material (datasets, the world tokenizer's corpus, a tokenizer's vocabulary).</summary>
public static class WorldCommand
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var data = new Option<string[]>("--data") { Description = "Dataset folder to scan, shards and rejects (repeatable).", AllowMultipleArgumentsPerToken = true };
        var tokenizer = new Option<string[]>("--tokenizer") { Description = "tokenizer.json whose vocabulary to scan (repeatable).", AllowMultipleArgumentsPerToken = true };
        var check = new Command("check",
            "Count held-out order ids, tracking numbers and verbatim held-out questions in the world tokenizer's corpus and in the given " +
            "datasets and tokenizers; exit 1 on any.") { data, tokenizer };
        check.SetAction(async (parse, cancellationToken) =>
        {
            var cli = context(parse);
            var leakage = new LeakageCheck(new StoreWorld());
            var counts = new List<LeakageCount> { leakage.Scan("world tokenizer corpus", WorldTokenizer.Corpus()) };
            foreach (var dir in parse.GetValue(data) ?? [])
            {
                var reader = DatasetReader.Open(dir);
                var texts = new List<string>();
                await foreach (var sample in reader.ReadSamplesAsync(cancellationToken)) texts.AddRange(LeakageCheck.TextsOf(sample));
                await foreach (var reject in reader.ReadRejectsAsync(cancellationToken)) texts.AddRange(LeakageCheck.TextsOf(reject.Sample));
                counts.Add(leakage.Scan(dir, texts));
            }
            foreach (var file in parse.GetValue(tokenizer) ?? [])
            {
                counts.Add(leakage.Scan(file, TokenizerVocabulary(file)));
            }

            var table = new Table().AddColumn("source").AddColumn(new TableColumn("texts").RightAligned())
                .AddColumn(new TableColumn("held-out ids").RightAligned()).AddColumn(new TableColumn("held-out questions").RightAligned()).AddColumn("examples");
            foreach (var c in counts)
            {
                table.AddRow(Markup.Escape(c.Source), c.Texts.ToString(), c.Leaks ? $"[red]{c.HeldOutIds}[/]" : "0",
                    c.HeldOutQuestions > 0 ? $"[red]{c.HeldOutQuestions}[/]" : "0", Markup.Escape(string.Join(", ", c.Examples)));
            }
            cli.Console.Write(table);
            cli.Console.WriteLine($"held-out split: {leakage.HeldOutIdCount} order ids and tracking numbers, {leakage.HeldOutQuestionCount} questions");
            var leaks = counts.Where(c => c.Leaks).ToList();
            if (leaks.Count == 0)
            {
                cli.Console.MarkupLine("[green]no leaks[/]");
                return DistillApp.Success;
            }
            cli.Error.WriteLine($"error: held-out material found in {string.Join(", ", leaks.Select(l => l.Source))}; " +
                "regenerate those from world:train tasks only (held-out tasks are for `distill evaluate`)");
            return DistillApp.UserError;
        });
        var command = new Command("world", "The embedded world: leakage check of training material against its held-out split.");
        command.Subcommands.Add(check);
        return command;
    }

    private static IEnumerable<string> TokenizerVocabulary(string file)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(file));
        return document.RootElement.GetProperty("model").GetProperty("vocab").EnumerateObject().Select(p => p.Name).ToList();
    }
}
