namespace Distill.Cli.Tests;

public sealed class TemplatesCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("distill-templates-cli-").FullName;


    [Fact]
    public async Task Render_shows_the_teacher_messages_and_the_student_messages_without_privileged_context()
    {
        var result = await CliRun.RunAsync("templates", "render", "tool-agent", "--set", $"Paths:Prompts={RepoPaths.Prompts}",
            "--vars", "customer_message=Where is order A10042?", "--vars", "today=2026-11-01", "--vars", "policy=SECRET-POLICY-TEXT");

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("Where is order A10042?", result.Output);
        var student = result.Output[result.Output.IndexOf("stored for the student", StringComparison.Ordinal)..];
        Assert.Contains("SECRET-POLICY-TEXT", result.Output[..result.Output.IndexOf("stored for the student", StringComparison.Ordinal)]);
        Assert.DoesNotContain("SECRET-POLICY-TEXT", student);
    }

    [Fact]
    public async Task Render_without_a_required_variable_is_one_clear_line()
    {
        var result = await CliRun.RunAsync("templates", "render", "tool-agent", "--set", $"Paths:Prompts={RepoPaths.Prompts}", "--vars", "today=2026-11-01");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("customer_message", result.Error);
    }

    [Fact]
    public async Task Lint_lists_every_problem_with_file_and_line_and_exits_1()
    {
        File.WriteAllText(Path.Combine(_folder, "broken.prompt"), "---\nid: broken\ndescription: x\nrecipe: nonsense\n---\n## user\nHello {{$who}}\n");

        var result = await CliRun.RunAsync("templates", "lint", "--set", $"Paths:Prompts={_folder}");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("broken.prompt:", result.Output);
        Assert.Contains("who", result.Output);
    }

    [Fact]
    public async Task Shipped_templates_lint_clean()
    {
        var result = await CliRun.RunAsync("templates", "lint", "--set", $"Paths:Prompts={RepoPaths.Prompts}");

        Assert.True(result.ExitCode == 0, result.Output + result.Error);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
