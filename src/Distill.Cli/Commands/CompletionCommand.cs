using System.CommandLine;

namespace Distill.Cli.Commands;

/// <summary>
/// `distill completion bash|zsh`: prints a shell script that completes `distill` commands and options. The script asks
/// `distill` itself through System.CommandLine's `[suggest:POSITION]` directive (the same protocol dotnet-suggest uses), so
/// completions always match the installed version.
/// </summary>
public static class CompletionCommand
{
    public static readonly IReadOnlyList<string> Shells = ["bash", "zsh"];

    public static Command Create()
    {
        var shell = new Argument<string>("shell") { Description = "The shell to print the completion script for." };
        shell.AcceptOnlyFromAmong([.. Shells]);
        var command = new Command("completion",
            "Print a shell completion script: add `source <(distill completion bash)` to ~/.bashrc, or `source <(distill completion zsh)` to ~/.zshrc after compinit.")
        {
            shell,
        };
        command.SetAction(parse =>
        {
            parse.InvocationConfiguration.Output.Write(Script(parse.GetValue(shell)!));
            return DistillApp.Success;
        });
        return command;
    }

    /// <summary>The script for <paramref name="shell"/> (one of <see cref="Shells"/>).</summary>
    public static string Script(string shell) => shell switch
    {
        "bash" => Bash,
        "zsh" => Zsh,
        _ => throw new ArgumentOutOfRangeException(nameof(shell), shell, "expected bash or zsh"),
    };

    // COMP_LINE is the whole line as typed and COMP_POINT the cursor in it: exactly what the suggest directive takes.
    private const string Bash = """
        # bash completion for distill: source <(distill completion bash)
        _distill_complete()
        {
            local IFS=$'\n'
            COMPREPLY=( $(distill "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null) )
        }
        complete -o default -F _distill_complete distill

        """;

    // zsh has no COMP_LINE: the words up to the one being completed, joined by spaces, with the cursor at their end.
    private const string Zsh = """
        #compdef distill
        # zsh completion for distill: source <(distill completion zsh)   (after compinit)
        _distill()
        {
            local line="${words[1,CURRENT]}"
            local -a suggestions
            suggestions=( ${(f)"$(distill "[suggest:${#line}]" "$line" 2>/dev/null)"} )
            compadd -- "${suggestions[@]}"
        }
        compdef _distill distill

        """;
}
