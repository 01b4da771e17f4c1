namespace Distill.Core.Configuration;

/// <summary>Where each stage keeps its files. Relative paths are relative to the current folder.</summary>
public sealed class PathsOptions : IValidatableOptions
{
    /// <summary>Folder of generated datasets (one subfolder per dataset: shards, manifest, lineage, curation file).</summary>
    public string Datasets { get; set; } = "datasets";

    /// <summary>Folder of training and evaluation runs (checkpoints, logs, charts, reports).</summary>
    public string Runs { get; set; } = "runs";

    /// <summary>Folder of versioned prompt templates (`distill templates list` reads it).</summary>
    public string Prompts { get; set; } = "prompts";

    /// <summary>Raw teacher responses and other re-derivable state.</summary>
    public string Cache { get; set; } = ".distill/cache";

    public IEnumerable<ConfigurationProblem> Validate(string path)
    {
        foreach (var (name, value) in new[] { (nameof(Datasets), Datasets), (nameof(Runs), Runs), (nameof(Prompts), Prompts), (nameof(Cache), Cache) })
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                yield return new($"{path}:{name}", null, "must not be empty");
            }
            else if (value.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
            {
                yield return new($"{path}:{name}", null, $"'{value}' is not a valid path");
            }
        }
    }
}
