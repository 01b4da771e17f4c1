using Distill.Cli.Configuration;
using Distill.Core.Configuration;
using Distill.Teachers;

namespace Distill.Cli.Tests;

/// <summary>The settings the quickstart writes for its stages bind back to exactly the options it wrote.</summary>
public sealed class SettingsFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("distill-settings-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Written_settings_bind_back_to_the_same_options_every_teacher_setting_included()
    {
        var teacher = new TeacherOptions
        {
            Name = "world-teacher",
            Endpoint = "http://127.0.0.1:5000/v1",
            Model = "world-teacher",
            TokenizerId = "bpe-1234",
            SendReasoning = true, // the setting a field-by-field copy once dropped
            Rpm = 600,
            MaxConcurrency = 8,
            AttemptTimeout = TimeSpan.FromMinutes(10),
            TotalTimeout = TimeSpan.FromMinutes(30),
            MaxRetries = 2,
            CachedInputPricePer1M = 0.5,
            FallbackTeacher = "other",
        };
        var written = new DistillOptions
        {
            Paths = new PathsOptions { Prompts = "/p", Cache = "/c" },
            Device = "cpu",
            Teachers = [teacher, new TeacherOptions { Name = "other", Endpoint = "http://localhost:1/v1", Model = "m" }],
        };
        var path = Path.Combine(_dir, "appsettings.json");

        SettingsFile.Write(path, written);
        var read = StrictOptionsBinder.Bind<DistillOptions>(ConfigurationLoader.Load(new ConfigurationRequest(path)));

        Assert.True(read.Teachers[0].SendReasoning);
        Assert.Equal(SettingsFile.ToJson(written), SettingsFile.ToJson(read));
    }

    [Theory]
    [InlineData("Rpn", "600", "did you mean 'Rpm'?")]
    [InlineData("Rpm", "lots", "'lots' is not a valid whole number")]
    public void A_misspelled_or_wrongly_typed_teacher_setting_names_its_key(string key, string value, string message)
    {
        var path = Path.Combine(_dir, "appsettings.json");
        File.WriteAllText(path, """{ "Teachers": [ { "Name": "a", "Endpoint": "http://localhost:1/v1", "Model": "m" } ] }""");

        var e = Assert.Throws<ConfigurationException>(() =>
            StrictOptionsBinder.Bind<DistillOptions>(ConfigurationLoader.Load(new ConfigurationRequest(path, Overrides: [$"Teachers:0:{key}={value}"]))));

        var problem = Assert.Single(e.Problems);
        Assert.Equal($"Teachers:0:{key}", problem.Key);
        Assert.Contains(message, problem.Message, StringComparison.Ordinal);
    }
}
