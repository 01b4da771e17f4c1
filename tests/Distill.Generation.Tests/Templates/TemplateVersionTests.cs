using Distill.Generation.Templates;

namespace Distill.Generation.Tests.Templates;

public sealed class TemplateVersionTests
{
    private const string Text = "---\nid: v\n---\n## user\nhello\n";

    [Fact]
    public void Version_is_stable_for_the_same_content()
    {
        Assert.Equal(TemplateVersion.Compute(Text), TemplateVersion.Compute(Text));
        Assert.Matches("^[0-9a-f]{12}$", TemplateVersion.Compute(Text));
    }

    [Fact]
    public void Version_changes_when_any_content_changes()
    {
        Assert.NotEqual(TemplateVersion.Compute(Text), TemplateVersion.Compute(Text.Replace("hello", "hello!", StringComparison.Ordinal)));
        Assert.NotEqual(TemplateVersion.Compute(Text), TemplateVersion.Compute(Text + " "));
    }

    [Fact]
    public void Version_ignores_line_endings_and_byte_order_mark()
    {
        var crlfWithBom = new byte[] { 0xEF, 0xBB, 0xBF }.Concat(System.Text.Encoding.UTF8.GetBytes(Text.ReplaceLineEndings("\r\n"))).ToArray();

        Assert.Equal(TemplateVersion.Compute(Text), TemplateVersion.Compute(crlfWithBom));
    }

    [Fact]
    public void Version_is_the_sha256_prefix_of_the_normalized_bytes()
    {
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Text)))[..12];

        Assert.Equal(expected, TemplateVersion.Compute(Text));
    }

    [Fact]
    public void Loaded_template_version_changes_when_the_file_changes()
    {
        using var folder = new TempPromptFolder();
        var template = "---\nid: v\ndescription: d\nrecipe: instruction\noutput: {format: text}\n---\n## user\nhello\n";
        folder.Write("v.prompt", template);
        var before = TemplateLibrary.LoadAndLint(folder.Path).Get("v").Version;
        var again = TemplateLibrary.LoadAndLint(folder.Path).Get("v").Version;

        folder.Write("v.prompt", template.Replace("hello", "hello there", StringComparison.Ordinal));
        var after = TemplateLibrary.LoadAndLint(folder.Path).Get("v").Version;

        Assert.Equal(before, again);
        Assert.NotEqual(before, after);
    }
}
