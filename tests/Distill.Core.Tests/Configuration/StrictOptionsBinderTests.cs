using Distill.Core.Configuration;
using Distill.Core.Errors;

namespace Distill.Core.Tests.Configuration;

public sealed class StrictOptionsBinderTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("distill-config-").FullName;

    public sealed class EndpointOptions : IValidatableOptions
    {
        public string? Endpoint { get; set; }
        public int Rpm { get; set; } = 60;
        [Secret] public string? ApiKey { get; set; }

        public IEnumerable<ConfigurationProblem> Validate(string path)
        {
            if (string.IsNullOrWhiteSpace(Endpoint))
            {
                yield return new($"{path}:{nameof(Endpoint)}", null, "is required");
            }
        }
    }

    public sealed class RootOptions
    {
        public PathsOptions Paths { get; set; } = new();
        public Dictionary<string, EndpointOptions> Teachers { get; set; } = new();
        public List<string> Tags { get; set; } = [];
        public bool Fast { get; set; }
    }

    private string Write(string json, string name = "appsettings.json")
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, json);
        return path;
    }

    private RootOptions Bind(string json, IReadOnlyList<string>? overrides = null, string? environment = null) =>
        StrictOptionsBinder.Bind<RootOptions>(ConfigurationLoader.Load(
            new ConfigurationRequest(Write(json), environment, overrides)));

    [Fact]
    public void Valid_settings_bind_to_typed_options()
    {
        var options = Bind("""{ "Paths": { "Runs": "r" }, "Teachers": { "a": { "Endpoint": "http://x", "Rpm": 5 } }, "Tags": ["p", "q"], "Fast": true }""");

        Assert.Equal("r", options.Paths.Runs);
        Assert.Equal("datasets", options.Paths.Datasets);
        Assert.Equal(5, options.Teachers["a"].Rpm);
        Assert.Equal(["p", "q"], options.Tags);
        Assert.True(options.Fast);
    }

    [Fact]
    public void Unknown_key_is_named_with_its_file_and_a_suggestion()
    {
        var error = Assert.Throws<ConfigurationException>(() => Bind("""{ "Paths": { "Runz": "r" } }"""));

        var problem = Assert.Single(error.Problems);
        Assert.Equal("Paths:Runz", problem.Key);
        Assert.EndsWith("appsettings.json", problem.Source);
        Assert.Contains("did you mean 'Runs'", problem.Message);
        Assert.Contains("Paths:Runz", error.OneLine);
    }

    [Fact]
    public void Wrong_type_is_named_with_the_expected_type()
    {
        var error = Assert.Throws<ConfigurationException>(() => Bind("""{ "Teachers": { "a": { "Endpoint": "http://x", "Rpm": "fast" } }, "Fast": "maybe" }"""));

        Assert.Equal(2, error.Problems.Count);
        Assert.Contains(error.Problems, p => p.Key == "Teachers:a:Rpm" && p.Message.Contains("not a valid whole number"));
        Assert.Contains(error.Problems, p => p.Key == "Fast" && p.Message.Contains("true/false"));
    }

    [Fact]
    public void Missing_required_value_is_reported_by_the_options_own_validation()
    {
        var error = Assert.Throws<ConfigurationException>(() => Bind("""{ "Teachers": { "a": { "Rpm": 3 } } }"""));

        Assert.Equal("Teachers:a:Endpoint", Assert.Single(error.Problems).Key);
    }

    [Fact]
    public void Secret_in_a_settings_file_is_refused_and_never_echoed()
    {
        var error = Assert.Throws<ConfigurationException>(() =>
            Bind("""{ "Teachers": { "a": { "Endpoint": "http://x", "ApiKey": "sk-live-SECRET-42" } } }"""));

        Assert.Contains("DISTILL__Teachers__a__ApiKey", error.Message);
        Assert.DoesNotContain("SECRET-42", error.ToString());
    }

    [Fact]
    public void Secret_from_an_override_is_accepted()
    {
        var options = Bind("""{ "Teachers": { "a": { "Endpoint": "http://x" } } }""", ["Teachers:a:ApiKey=sk-1"]);

        Assert.Equal("sk-1", options.Teachers["a"].ApiKey);
    }

    [Fact]
    public void Later_layers_win_environment_file_then_overrides()
    {
        Write("""{ "Paths": { "Runs": "from-env-file", "Cache": "c2" } }""", "appsettings.Staging.json");

        var options = Bind("""{ "Paths": { "Runs": "base", "Prompts": "p" } }""", ["Paths.Cache=c3"], "Staging");

        Assert.Equal("from-env-file", options.Paths.Runs);
        Assert.Equal("p", options.Paths.Prompts);
        Assert.Equal("c3", options.Paths.Cache);
    }

    [Fact]
    public void Override_source_is_named_as_set()
    {
        var error = Assert.Throws<ConfigurationException>(() => Bind("{}", ["Paths:Nope=1"]));

        Assert.Equal("--set", Assert.Single(error.Problems).Source);
    }

    [Fact]
    public void Malformed_json_names_the_file_and_line()
    {
        var path = Write("{\n  \"Paths\": {\n    \"Runs\": \"r\",\n  }\n}");

        var error = Assert.Throws<DistillException>(() => ConfigurationLoader.Load(new ConfigurationRequest(path)));

        Assert.Contains(path, error.Message);
        Assert.Contains("line 4", error.Message);
    }

    [Fact]
    public void Missing_explicit_settings_file_is_a_clear_error()
    {
        var error = Assert.Throws<DistillException>(() =>
            ConfigurationLoader.Load(new ConfigurationRequest(Path.Combine(_folder, "nope.json"))));

        Assert.Contains("nope.json", error.Message);
        Assert.Contains("does not exist", error.Message);
    }

    [Fact]
    public void Malformed_override_is_a_clear_error()
    {
        var error = Assert.Throws<DistillException>(() => Bind("{}", ["Paths:Runs"]));

        Assert.Contains("key=value", error.Message);
    }

    [Fact]
    public void Object_where_a_value_is_expected_is_reported()
    {
        var error = Assert.Throws<ConfigurationException>(() => Bind("""{ "Fast": { "x": 1 } }"""));

        Assert.Contains("expected a single", Assert.Single(error.Problems).Message);
    }

    [Fact]
    public void Schema_key_is_ignored_at_the_root_only()
    {
        var options = Bind("""{ "$schema": "./schemas/appsettings.schema.json", "Fast": true }""");
        var error = Assert.Throws<ConfigurationException>(() => Bind("""{ "Paths": { "$schema": "x" } }"""));

        Assert.True(options.Fast);
        Assert.Equal("Paths:$schema", Assert.Single(error.Problems).Key);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
