using System.CommandLine;
using Distill.Cli.Configuration;
using Distill.Core.Configuration;

namespace Distill.Cli.Commands;

/// <summary>
/// `distill config schema train|settings [--out FILE]`: prints (or writes) the JSON Schema of a train config or of appsettings.json,
/// generated from the options the binders read, so an editor completes and checks the keys of a file that names it with "$schema".
/// </summary>
public static class ConfigCommand
{
    public static Command Create()
    {
        var command = new Command("config", "Describe Distill's config files.");
        command.Subcommands.Add(Schema());
        return command;
    }

    private static Command Schema()
    {
        var kind = new Argument<string>("kind") { Description = "train (a train config, configs/train/*.json) or settings (appsettings.json)." };
        kind.AcceptOnlyFromAmong([.. ConfigSchemas.ShippedFiles.Keys]);
        var output = new Option<string?>("--out") { Description = "Write the schema to this file instead of printing it." };
        var command = new Command("schema",
            "Print the JSON Schema (draft 2020-12) of a train config or of appsettings.json; the repository ships both under schemas/.")
        {
            kind, output,
        };
        command.SetAction(parse =>
        {
            var text = JsonSchemaGenerator.ToFileText(ConfigSchemas.For(parse.GetValue(kind)!));
            if (parse.GetValue(output) is { } path)
            {
                var full = Path.GetFullPath(path);
                Directory.CreateDirectory(Path.GetDirectoryName(full)!);
                File.WriteAllText(full, text);
                parse.InvocationConfiguration.Output.WriteLine($"wrote {full}");
                return DistillApp.Success;
            }
            parse.InvocationConfiguration.Output.Write(text);
            return DistillApp.Success;
        });
        return command;
    }
}
