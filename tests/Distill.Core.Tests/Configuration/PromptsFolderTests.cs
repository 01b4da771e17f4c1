using Distill.Core.Configuration;

namespace Distill.Core.Tests.Configuration;

/// <summary>Where templates are read from: the configured folder, or the shipped templates when the default folder is absent.</summary>
public sealed class PromptsFolderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("distill-prompts-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Folder(string name) => Directory.CreateDirectory(Path.Combine(_dir, name)).FullName;

    [Fact]
    public void The_default_outside_a_clone_is_the_shipped_templates()
    {
        var shipped = Folder("app/prompts");

        Assert.Equal(shipped, new PathsOptions().PromptsFolder(Folder("elsewhere"), shipped));
    }

    [Fact]
    public void A_prompts_folder_in_the_current_folder_wins_over_the_shipped_one()
    {
        var current = Folder("clone");
        Folder("clone/prompts");

        Assert.Equal("prompts", new PathsOptions().PromptsFolder(current, Folder("app/prompts")));
    }

    [Theory]
    [InlineData("my-prompts")]
    [InlineData("/data/prompts")]
    public void A_folder_the_user_set_is_kept_even_when_missing_so_its_error_names_it(string configured)
    {
        Assert.Equal(configured, new PathsOptions { Prompts = configured }.PromptsFolder(Folder("elsewhere"), Folder("app/prompts")));
    }

    [Fact]
    public void Without_shipped_templates_the_default_stays_and_its_error_names_it()
    {
        Assert.Equal("prompts", new PathsOptions().PromptsFolder(Folder("elsewhere"), Path.Combine(_dir, "app", "prompts")));
    }
}
