using Distill.Cli.Commands;

namespace Distill.Cli.Tests;

/// <summary>`distill train configs/train/...` outside a clone reads the configs shipped beside the program.</summary>
public sealed class ShippedTrainConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("distill-shipped-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string relative)
    {
        var path = Path.Combine(_dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "{}");
        return path;
    }

    private string Current => Directory.CreateDirectory(Path.Combine(_dir, "work")).FullName;

    private string Program => Path.Combine(_dir, "app");

    [Fact]
    public void A_configs_path_missing_here_is_read_from_the_program_folder()
    {
        var shipped = Write("app/configs/train/world-sft.json");

        Assert.Equal(shipped, TrainCommand.ShippedConfig("configs/train/world-sft.json", Current, Program));
    }

    [Fact]
    public void A_config_in_the_current_folder_wins()
    {
        Write("app/configs/train/world-sft.json");
        Write("work/configs/train/world-sft.json");

        Assert.Equal("configs/train/world-sft.json", TrainCommand.ShippedConfig("configs/train/world-sft.json", Current, Program));
    }

    [Theory]
    [InlineData("configs/train/typo.json")]          // shipped nowhere: the user gets the missing-file error for their path
    [InlineData("appsettings.json")]                 // beside the program, but not a shipped train config
    [InlineData("../configs/train/world-sft.json")]  // not under the current folder's configs/
    public void Other_paths_are_returned_as_given(string path)
    {
        Write("app/configs/train/world-sft.json");
        Write("app/appsettings.json");

        Assert.Equal(path, TrainCommand.ShippedConfig(path, Current, Program));
    }

    [Fact]
    public void A_rooted_path_is_returned_as_given()
    {
        var shipped = Write("app/configs/train/world-sft.json");
        var rooted = Path.Combine(_dir, "elsewhere", "configs", "train", "world-sft.json");

        Assert.Equal(rooted, TrainCommand.ShippedConfig(rooted, Current, Program));
        Assert.True(File.Exists(shipped));
    }

    [Fact]
    public void The_key_reference_an_invalid_config_points_to_ships_beside_the_program()
    {
        // TrainConfig's error for an unknown or invalid key says "every key: configs/train/README.md"; an installed tool has no clone.
        var readme = Path.Combine(AppContext.BaseDirectory, "configs", "train", "README.md");

        Assert.True(File.Exists(readme), $"{readme} is not in the build output");
        Assert.Contains("`steps`", File.ReadAllText(readme));
    }
}
