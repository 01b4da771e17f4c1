using Distill.Core.Errors;
using Distill.Generation.Templates;

namespace Distill.Generation.Tests.Templates;

public sealed class TemplateHistoryTests : IDisposable
{
    private const string Body = "---\nid: greet\ndescription: Says hello.\nrecipe: instruction\nvariables:\n  name:\n    type: string\n    required: true\noutput:\n  format: text\n---\n## user\nSay hello to {{$name}}.\n";
    private readonly string _dir = Directory.CreateTempSubdirectory("distill-template-history-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private TemplateLibrary Library(string body)
    {
        var prompts = Path.Combine(_dir, "prompts");
        Directory.CreateDirectory(prompts);
        File.WriteAllText(Path.Combine(prompts, "greet.prompt"), body);
        return TemplateLibrary.LoadAndLint(prompts);
    }

    [Fact]
    public void Line_diff_marks_removed_and_added_lines_around_the_common_ones()
    {
        var diff = LineDiff.Compute(["a", "b", "c", "d"], ["a", "x", "c", "d", "e"]);
        Assert.Equal(
            [(DiffKind.Same, "a"), (DiffKind.Removed, "b"), (DiffKind.Added, "x"), (DiffKind.Same, "c"), (DiffKind.Same, "d"), (DiffKind.Added, "e")],
            diff.Select(l => (l.Kind, l.Text)));
        Assert.Empty(LineDiff.Compute([], []));
        Assert.Equal(["x", "y"], LineDiff.Lines("x\ny\n"));
    }

    [Fact]
    public void A_version_stays_readable_from_its_dataset_after_the_prompt_file_changed()
    {
        var v1 = Library(Body).Get("greet");
        var dataset = Path.Combine(_dir, "data");
        TemplateArchive.Store(dataset, v1);
        TemplateArchive.Store(dataset, v1); // once per version: storing again changes nothing
        var v2 = Library(Body.Replace("Say hello", "Greet", StringComparison.Ordinal)).Get("greet");

        Assert.NotEqual(v1.Version, v2.Version);
        Assert.Single(Directory.GetFiles(Path.Combine(dataset, TemplateArchive.Folder)));
        var (version, text) = new TemplateRef("greet", v1.Version[..6]).Resolve([dataset], Library(Body.Replace("Say hello", "Greet", StringComparison.Ordinal)));
        Assert.Equal(v1.Version, version);
        Assert.Contains("Say hello to", text);
        Assert.Equal(v1.Version, TemplateVersion.Compute(text));
        Assert.Equal([v1.Version], TemplateArchive.Versions([dataset], "greet"));
    }

    [Fact]
    public void A_hand_edited_archive_file_is_not_taken_for_its_version()
    {
        var v1 = Library(Body).Get("greet");
        var dataset = Path.Combine(_dir, "data");
        var path = TemplateArchive.Store(dataset, v1);
        File.AppendAllText(path, "edited\n");

        Assert.Null(TemplateArchive.Find([dataset], "greet", v1.Version));
    }

    [Fact]
    public void Storing_a_template_whose_file_changed_since_it_was_loaded_is_refused()
    {
        var v1 = Library(Body).Get("greet");
        File.WriteAllText(v1.FilePath, Body + "\nmore\n");
        var e = Assert.Throws<DistillException>(() => TemplateArchive.Store(Path.Combine(_dir, "data"), v1));
        Assert.Contains("changed", e.Message);
    }

    [Fact]
    public void Unknown_and_malformed_versions_are_clear_errors()
    {
        Assert.Throws<DistillException>(() => TemplateRef.Parse("greet"));
        Assert.Throws<DistillException>(() => TemplateRef.Parse("greet@"));
        Assert.Equal(new TemplateRef("a@b", "c"), TemplateRef.Parse("a@b@c"));
        var e = Assert.Throws<DistillException>(() => new TemplateRef("greet", "ffffff").Resolve([], Library(Body)));
        Assert.Contains("known versions", e.Message);
    }
}
