using Distill.Core.Errors;
using Distill.Generation.Templates;

namespace Distill.Generation.Tests.Templates;

public sealed class TemplateLibraryTests : IDisposable
{
    private readonly TempPromptFolder _folder = new();

    private static string Template(string id, string body = "## user\n{{$q}}\n") => $"""
        ---
        id: {id}
        description: d
        recipe: instruction
        variables:
          q: {"{"}type: string, required: true{"}"}
        output: {"{"}format: text{"}"}
        ---
        {body}
        """;

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Loads_every_template_in_the_folder_and_subfolders_by_id()
    {
        _folder.Write("a.prompt", Template("a"));
        _folder.Write("judges/b.prompt", Template("b"));
        _folder.Write("README.md", "not a template");

        var library = TemplateLibrary.LoadAndLint(_folder.Path);

        Assert.Equal(["a", "b"], library.Templates.Select(t => t.Id));
        Assert.Equal(Path.Combine(_folder.Path, "judges", "b.prompt"), library.Get("b").FilePath);
    }

    [Fact]
    public void Duplicate_ids_are_an_error_naming_both_files()
    {
        var first = _folder.Write("one/x.prompt", Template("x"));
        var second = _folder.Write("two/x.prompt", Template("x"));

        var error = Assert.Throws<TemplateLintException>(() => TemplateLibrary.LoadAndLint(_folder.Path));

        var problem = Assert.Single(error.Problems);
        Assert.Equal(second, problem.File);
        Assert.Equal(2, problem.Line);
        Assert.Contains(first, problem.Message, StringComparison.Ordinal);
        Assert.Contains("duplicate template id 'x'", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Broken_template_fails_load_with_every_problem_as_file_line_message()
    {
        var good = _folder.Write("good.prompt", Template("good"));
        var bad = _folder.Write("bad.prompt", Template("bad", "## user\n{{$q}} {{$missing}}\n").Replace("recipe: instruction", "recipe: nope", StringComparison.Ordinal));

        var error = Assert.Throws<TemplateLintException>(() => TemplateLibrary.LoadAndLint(_folder.Path));

        Assert.IsAssignableFrom<DistillException>(error);
        Assert.Contains($"{bad}:4: unknown recipe 'nope'", error.Message, StringComparison.Ordinal);
        Assert.Contains($"{bad}:10: variable 'missing' is used but not declared", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(good, error.Message, StringComparison.Ordinal);
        Assert.Contains("templates lint", error.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Lint_folder_returns_clean_templates_alongside_problems()
    {
        _folder.Write("good.prompt", Template("good"));
        _folder.Write("bad.prompt", Template("bad").Replace("recipe: instruction", "recipe: nope", StringComparison.Ordinal));

        var result = TemplateLinter.LintFolder(_folder.Path);

        Assert.Equal(["good"], result.Templates.Select(t => t.Id));
        Assert.Single(result.Problems);
        Assert.False(result.IsClean);
    }

    [Fact]
    public void Unknown_id_error_lists_the_known_ids()
    {
        _folder.Write("a.prompt", Template("a"));
        var library = TemplateLibrary.LoadAndLint(_folder.Path);

        var error = Assert.Throws<DistillException>(() => library.Get("zzz"));

        Assert.Contains("no template 'zzz'", error.Message, StringComparison.Ordinal);
        Assert.Contains("known: a", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_folder_is_a_user_facing_error()
    {
        var error = Assert.Throws<DistillException>(() => TemplateLibrary.LoadAndLint(Path.Combine(_folder.Path, "nope")));

        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Renderer_finds_templates_by_id_through_the_library()
    {
        _folder.Write("a.prompt", Template("a"));
        var renderer = new TemplateRenderer(TemplateLibrary.LoadAndLint(_folder.Path));

        var rendered = await renderer.RenderAsync("a", new Dictionary<string, object?> { ["q"] = "<hi>" });

        Assert.Equal("<hi>", Assert.Single(rendered.TeacherMessages).Content);
        Assert.Equal("a", rendered.TemplateId);
        Assert.Equal(TemplateVersion.Compute(Template("a")), rendered.TemplateVersion);
    }
}
